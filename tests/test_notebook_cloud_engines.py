"""One notebook per cloud engine, run with papermill on the demo data: athena and lake reach the
same analysis code and give the same findings.

papermill runs the notebook in a separate kernel process, so in-process mocks do not reach it
and moto's server mode would need `moto[server]` (flask). Instead, the test gives the kernel an
IPython startup file (through its own IPYTHONDIR) that, before any notebook cell runs:

- athena: starts moto in the kernel and registers `AthenaFromLocal` (test_engine_athena.py),
  which answers every Athena statement with what the local engine computes on the demo store;
- lake: registers `FakeLakeService` (test_engine_lake.py), which runs the Lake-rendered SQL on a
  Lake-shaped DuckDB table of the demo records.

Both hook in through `trailbook.aws.add_session_hook`, so the notebook, trailbook's engines
and pyathena run unchanged. Nothing test-only lives in the library.
"""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pytest

from trailbook.catalog import MAX_EVENT_IDS
from trailbook.contract import EVIDENCE_MIME
from trailbook.findings import FINDINGS_MIME

TESTS = Path(__file__).parent
NOTEBOOKS = TESTS.parent / "notebooks"
NOTEBOOK = "console_logins"  # the first notebook; any notebook takes the same shared parameters
EDS_ID = "0f2d4c1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"

STARTUP = textwrap.dedent('''
    def _fake_aws():  # one function, so no name lands in the notebook's namespace (its strict check)
        import json, os, sys
        sys.path.insert(0, os.environ["FAKE_AWS_TESTS"])
        from trailbook import aws
        if os.environ["FAKE_AWS_ENGINE"] == "athena":
            import boto3
            from moto import mock_aws
            from moto.athena.models import AthenaBackend
            from moto.moto_api import state_manager
            from test_engine_athena import AthenaFromLocal, quote_safe_results, BUCKET
            from trailbook import store
            from trailbook.engines.local import LocalEngine
            AthenaBackend._store_query_result_in_s3 = quote_safe_results
            mock = mock_aws()
            mock.start()
            state_manager.set_transition("athena::execution", {"progression": "immediate"})
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
            local = LocalEngine(connection=store.connect(os.environ["FAKE_AWS_STORE"], read_only=True))
            aws.add_session_hook(AthenaFromLocal(local, '"awsdatacatalog"."default"."cloudtrail"'))
            return mock
        from test_engine_lake import FakeLakeService
        with open(os.environ["FAKE_AWS_RECORDS"]) as handle:
            lake = FakeLakeService(json.load(handle), os.environ["FAKE_AWS_EDS"])
        aws.add_session_hook(lambda session, engine: lake.install(session.events))
        return lake

    _fake_aws_backend = _fake_aws()
    del _fake_aws
''')


def _demo_records(cloudtrail: Path) -> list[dict]:
    records = []
    for path in sorted(cloudtrail.rglob("*.json.gz")):
        if "CloudTrail-Digest" in str(path):
            continue
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records.extend(json.load(handle)["Records"])
    return records


def _outputs(notebook, mime: str) -> list:
    return [out["data"][mime] for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if mime in out.get("data", {})]


def _deterministic(findings: list[dict]) -> list[tuple]:
    """The fields every engine must agree on. arbitrary() picks (region, user agent, key id) and the
    order of same-second eventIDs depend on row order, which differs between engines."""
    rows = []
    for f in findings:
        ids = tuple(sorted(f["event_ids"])) if f["event_count"] <= MAX_EVENT_IDS else len(f["event_ids"])
        rows.append((f["detection"], f["severity"], f["first_seen"], f["last_seen"], f["account_id"],
                     f["principal_arn"], f["source_ip"], tuple(f["event_names"]), f["event_count"], ids,
                     tuple(f["mitre"])))
    return sorted(rows, key=repr)


@pytest.fixture(scope="module")
def cloud_setup(demo_dir, tmp_path_factory):
    from trailbook import store

    root = tmp_path_factory.mktemp("cloud_nb")
    store.ingest(demo_dir / "cloudtrail", root / "store", progress=False)
    (root / "records.json").write_text(json.dumps(_demo_records(demo_dir / "cloudtrail")))
    (root / "config.yml").write_text(textwrap.dedent(f"""
        athena:
          region: us-east-1
          s3_staging_dir: s3://trailbook-athena-results/notebook/
          poll_interval: 0.01
        lake:
          region: us-east-1
          event_data_store: arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{EDS_ID}
          poll_interval: 0.0
    """))
    return root


def _run(engine: str, setup: Path, monkeypatch) -> object:
    import papermill

    ipython_dir = setup / f"ipython_{engine}"
    (ipython_dir / "profile_default" / "startup").mkdir(parents=True, exist_ok=True)
    (ipython_dir / "profile_default" / "startup" / "00-fake-aws.py").write_text(STARTUP)
    env = {"IPYTHONDIR": str(ipython_dir), "FAKE_AWS_ENGINE": engine, "FAKE_AWS_TESTS": str(TESTS),
           "FAKE_AWS_STORE": str(setup / "store"), "FAKE_AWS_RECORDS": str(setup / "records.json"),
           "FAKE_AWS_EDS": EDS_ID, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "MPLBACKEND": "Agg"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "TRAILBOOK_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    out = setup / f"{NOTEBOOK}_{engine}.ipynb"
    return papermill.execute_notebook(str(NOTEBOOKS / f"{NOTEBOOK}.ipynb"), str(out), kernel_name="python3",
                                      parameters={"engine": engine, "source": "", "config": str(setup / "config.yml")},
                                      progress_bar=False, cwd=str(setup))


@pytest.mark.slow
def test_athena_and_lake_notebooks_give_the_same_findings(cloud_setup, demo_dir, monkeypatch):
    if not (NOTEBOOKS / f"{NOTEBOOK}.ipynb").exists():
        pytest.fail(f"notebooks/{NOTEBOOK}.ipynb is missing")
    manifest = json.loads((demo_dir / "demo_manifest.json").read_text())
    results = {}
    for engine in ("athena", "lake"):
        executed = _run(engine, cloud_setup, monkeypatch)
        findings = _outputs(executed, FINDINGS_MIME)
        evidence = _outputs(executed, EVIDENCE_MIME)
        assert len(findings) == 1 and len(evidence) == 1, engine
        results[engine] = (findings[0], evidence[0])

    athena_findings, athena_evidence = results["athena"]
    lake_findings, lake_evidence = results["lake"]
    assert len(athena_findings) > 0
    assert _deterministic(lake_findings) == _deterministic(athena_findings)

    # the demo's injected root sign-in without MFA is found on both engines
    root = next(i for i in manifest["incidents"] if i["id"] == "root_console_login_no_mfa")
    reported = {e for f in athena_findings if f["detection"] == "root_activity" for e in f["event_ids"]}
    assert set(root["event_ids"]) & reported

    assert athena_evidence["session"]["engine"] == "athena"
    assert lake_evidence["session"]["engine"] == "lake"
    athena_runs = [q for q in athena_evidence["queries"] if q["status"] == "ok"]
    lake_runs = [q for q in lake_evidence["queries"] if q["status"] == "ok"]
    assert athena_runs and [q["query"] for q in athena_runs] == [q["query"] for q in lake_runs]
    for run in athena_runs:
        assert run["stats"]["bytes_scanned"] == 50 * 1024**2 and run["stats"]["cost_usd"] > 0
        assert '"awsdatacatalog"."default"."cloudtrail"' in run["sql"]
    for run in lake_runs:
        assert run["stats"]["events_scanned"] > 0 and f"FROM {EDS_ID} " in run["sql"]  # bare, as Lake's docs write it
