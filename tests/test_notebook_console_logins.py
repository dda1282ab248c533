"""notebooks/console_logins.ipynb end to end with papermill on the demo data, checked against the
demo's ground truth (demo_manifest.json): the injected sign-in incidents come out as findings with the
right principal, source IP and events, and nothing outside the incidents is medium or worse.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import papermill
import pytest

from trailbook.catalog import load_catalog, tagged
from trailbook.contract import EVIDENCE_MIME
from trailbook.findings import SEVERITY_RANK
from trailbook.paths import notebooks_dir

NOTEBOOK = notebooks_dir() / "console_logins.ipynb"
FINDINGS_MIME = "application/vnd.trailbook.findings+json"


def _outputs(notebook: dict, mime: str) -> list:
    return [o["data"][mime] for cell in notebook["cells"] if cell["cell_type"] == "code"
            for o in cell.get("outputs", []) if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def executed(demo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("nb") / "console_logins.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
        parameters={"source": str(Path(demo_dir) / "cloudtrail"), "store": str(out.parent / "store")},
    )
    manifest = json.loads((Path(demo_dir) / "demo_manifest.json").read_text())
    return json.loads(out.read_text()), {i["id"]: i for i in manifest["incidents"]}


def _findings(notebook: dict) -> list[dict]:
    (records,) = _outputs(notebook, FINDINGS_MIME)
    return records


def _one(findings, detection, incident):
    hits = [f for f in findings if f["detection"] == detection and f["source_ip"] == incident["source_ip"]]
    assert len(hits) == 1, (detection, incident["id"], hits)
    return hits[0]


def _logins(incident) -> list[str]:
    return [eid for eid, name in zip(incident["event_ids"], incident["event_names"]) if name == "ConsoleLogin"]


@pytest.mark.slow
def test_root_login_without_mfa_is_critical(executed):
    notebook, incidents = executed
    incident = incidents["root_console_login_no_mfa"]
    finding = _one(_findings(notebook), "root_activity", incident)
    assert finding["principal_arn"] == incident["principal_arn"]
    assert finding["account_id"] == incident["account_id"]
    assert finding["severity"] == "critical"
    assert set(finding["event_ids"]) == set(incident["event_ids"])
    no_mfa = _one(_findings(notebook), "console_login_without_mfa", incident)
    assert no_mfa["event_ids"] == _logins(incident) and no_mfa["severity"] == "critical"


@pytest.mark.slow
def test_brute_force_then_success(executed):
    notebook, incidents = executed
    incident = incidents["brute_force_then_success"]
    logins = _logins(incident)  # the failures, then the success
    after = _one(_findings(notebook), "console_login_after_failures", incident)
    assert after["principal_arn"] == incident["principal_arn"]
    assert after["severity"] == "high"
    assert after["event_ids"] == logins and after["event_count"] == len(logins)
    brute = _one(_findings(notebook), "console_brute_force", incident)
    assert brute["event_ids"] == logins[:-1]
    assert brute["user_name"] == incident["principal_arn"].rsplit("/", 1)[1]


@pytest.mark.slow
def test_password_spray(executed):
    notebook, incidents = executed
    incident = incidents["password_spray"]
    spray = _one(_findings(notebook), "console_password_spray", incident)
    assert spray["event_ids"] == _logins(incident)
    # Names that are not IAM users are hidden by AWS, so each of their attempts counts as a name.
    assert spray["user_count"] >= len(set(incident["attempted_user_names"]))


@pytest.mark.slow
def test_nothing_medium_or_worse_outside_the_incidents(executed):
    notebook, incidents = executed
    incident_ips = {i["source_ip"] for i in incidents.values()}
    serious = [f for f in _findings(notebook) if SEVERITY_RANK[f["severity"]] >= SEVERITY_RANK["medium"]]
    assert serious
    assert {f["source_ip"] for f in serious} <= incident_ips


@pytest.mark.slow
def test_evidence_and_notes(executed):
    notebook, _ = executed
    (evidence,) = _outputs(notebook, EVIDENCE_MIME)
    ran = [q["query"] for q in evidence["queries"]]
    assert set(tagged(load_catalog(), "console_logins")) | {"console_logins"} == set(ran)
    assert all(q["status"] == "ok" for q in evidence["queries"])
    assert evidence["parameters"]["baseline_days"] == 14
    notes = "\n".join("".join(text) for text in _outputs(notebook, "text/markdown"))  # nbformat may split lines
    assert "Country allow-list: not checked" in notes
    assert len(_outputs(notebook, "image/png")) == 2


def _raw_console_logins(demo_dir: Path, start: str, end: str) -> list[str]:
    """The eventIDs of every ConsoleLogin in the window, read straight from the demo's .json.gz files."""
    ids = []
    for path in sorted((Path(demo_dir) / "cloudtrail").rglob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            ids += [r["eventID"] for r in json.load(handle).get("Records") or []  # digest files hold none
                    if r["eventName"] == "ConsoleLogin" and start <= r["eventTime"] < end]
    return ids


@pytest.mark.slow
def test_every_console_sign_in_section_lists_each_sign_in(executed, demo_dir):
    notebook, _ = executed
    cells = notebook["cells"]
    heading = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                   and "".join(c["source"]).startswith("## Every console sign-in"))
    section_end = next(i for i, c in enumerate(cells) if i > heading and c["cell_type"] == "markdown")
    tables = ["".join(o["data"]["text/html"]) for c in cells[heading:section_end] for o in c.get("outputs", [])
              if "text/html" in o.get("data", {})]
    assert len(tables) == 1, "the section shows one table"
    expected = set(_raw_console_logins(demo_dir, "2026-10-22T00:00:00Z", "2026-10-29T00:00:00Z"))  # the defaults
    body = tables[0].split("<tbody>", 1)[1]
    assert body.count("<tr") == len(expected) > 0
    assert all(event_id in body for event_id in expected)
    assert "<th>Outcome</th>" in tables[0] and "<th>Source IP</th>" in tables[0]


@pytest.mark.slow
def test_unknown_parameter_is_an_error(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="unknown parameter"):
        papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3",
                                   progress_bar=False, parameters={"brute_force_treshold": 3})
