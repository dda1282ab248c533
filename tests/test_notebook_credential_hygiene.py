"""notebooks/credential_hygiene.ipynb end to end with papermill on the demo data: the demo's planted
stale key, user without MFA and two-active-keys user are each reported, with the right CIS ids."""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest

from trailbook.contract import EVIDENCE_MIME
from trailbook.findings import FINDINGS_MIME
from trailbook.paths import notebooks_dir

NOTEBOOK = notebooks_dir() / "credential_hygiene.ipynb"


def _outputs(notebook: dict, mime: str) -> list:
    return [o["data"][mime] for cell in notebook["cells"] if cell["cell_type"] == "code"
            for o in cell.get("outputs", []) if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def executed(demo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("nb") / "credential_hygiene.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
        parameters={"source": str(Path(demo_dir) / "cloudtrail"), "store": str(out.parent / "store"),
                    "iam_snapshot": str(Path(demo_dir) / "iam")},
    )
    manifest = json.loads((Path(demo_dir) / "demo_manifest.json").read_text())
    (findings,) = _outputs(json.loads(out.read_text()), FINDINGS_MIME)
    return json.loads(out.read_text()), findings, {p["id"]: p for p in manifest["iam_plants"]}


def _hits(findings, detection, arn):
    return [f for f in findings if f["detection"] == detection and f["principal_arn"] == arn]


@pytest.mark.slow
def test_stale_key_fails_rotation_and_inactivity(executed):
    _, findings, plants = executed
    plant = plants["stale_key"]
    for detection in ("cis_1_14_key_rotation", "cis_1_12_unused_credentials"):
        hits = _hits(findings, detection, plant["entity_arn"])
        assert [h["access_key_id"] for h in hits] == [plant["access_key_id"]], detection
        assert hits[0]["account_id"] == plant["account_id"] and hits[0]["severity"] == "medium"


@pytest.mark.slow
def test_user_without_mfa(executed):
    _, findings, plants = executed
    plant = plants["user_without_mfa"]
    (hit,) = _hits(findings, "cis_1_10_console_user_without_mfa", plant["entity_arn"])
    assert hit["severity"] == "high" and hit["detail"] == "console password enabled, no MFA device"


@pytest.mark.slow
def test_two_active_keys(executed):
    _, findings, plants = executed
    plant = plants["two_active_keys"]
    (hit,) = _hits(findings, "cis_1_13_two_active_keys", plant["entity_arn"])
    assert sorted(hit["access_key_id"].split(",")) == sorted(plant["access_key_ids"])


@pytest.mark.slow
def test_every_finding_is_a_failed_check_and_evidence_is_kept(executed):
    notebook, findings, plants = executed
    assert all(f["detection"].startswith(("cis_", "posture_")) for f in findings)
    assert all(f["event_count"] == 0 and f["event_ids"] == [] for f in findings)
    if "root_without_mfa" in plants:
        assert _hits(findings, "cis_1_5_root_mfa", plants["root_without_mfa"]["entity_arn"])
    (evidence,) = _outputs(notebook, EVIDENCE_MIME)
    ran = [q["query"] for q in evidence["queries"]]
    # Run on its own (no report handed it `incidents_from`), the notebook runs the detections for its story.
    assert ran[-1] == "principal_last_activity" and "cloudtrail_logging_disabled" in ran
    assert evidence["parameters"]["rotation_days"] == 90


@pytest.mark.slow
def test_the_leaked_key_is_compromised_not_due_for_rotation(executed, demo_dir):
    _, findings, _ = executed
    manifest = json.loads((Path(demo_dir) / "demo_manifest.json").read_text())
    leaked = {i["id"]: i for i in manifest["incidents"]}["leaked_key_first_use"]["access_key_id"]
    (hit,) = [f for f in findings if f["detection"] == "cis_1_14_key_rotation" and f["access_key_id"] == leaked]
    assert hit["detail"].startswith("compromised in incident INC-") and "not a rotation matter" in hit["detail"]
