"""notebooks/unused_permissions.ipynb end to end with papermill on the demo data: the demo's planted
over-privileged role is reported, from the findings the executed notebook carries."""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest

from trailbook.contract import EVIDENCE_MIME
from trailbook.findings import FINDINGS_MIME
from trailbook.paths import notebooks_dir

NOTEBOOK = notebooks_dir() / "unused_permissions.ipynb"


def _outputs(notebook: dict, mime: str) -> list:
    return [o["data"][mime] for cell in notebook["cells"] if cell["cell_type"] == "code"
            for o in cell.get("outputs", []) if mime in o.get("data", {})]


def _text(notebook: dict) -> str:
    return "\n".join("".join(o["data"].get("text/plain", "")) for cell in notebook["cells"] if cell["cell_type"] == "code"
                     for o in cell.get("outputs", []) if "data" in o)


@pytest.fixture(scope="module")
def executed(demo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("nb") / "unused_permissions.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
        parameters={"source": str(Path(demo_dir) / "cloudtrail"), "store": str(out.parent / "store"),
                    "iam_snapshot": str(Path(demo_dir) / "iam")},
    )
    manifest = json.loads((Path(demo_dir) / "demo_manifest.json").read_text())
    return json.loads(out.read_text()), {p["id"]: p for p in manifest["iam_plants"]}


@pytest.mark.slow
def test_over_privileged_role_is_reported_high(executed):
    notebook, plants = executed
    plant = plants["over_privileged_role"]
    exposure, findings = _outputs(notebook, FINDINGS_MIME)  # the resource-exposure section, then unused grants
    hits = [f for f in findings if f["principal_arn"] == plant["entity_arn"]
            and f["detection"] == "unused_permissions_over_privileged"]
    assert len(hits) == 1
    finding = hits[0]
    assert finding["account_id"] == plant["account_id"] and finding["severity"] == "high"
    assert finding["risk"] == "privilege_escalation" and finding["event_count"] == 0
    # The services it really used are not among those reported unused.
    unused = finding["detail"].split("(Access Advisor): ", 1)[1].split(", ")
    assert not set(plant["services_used_last_90_days"]) & set(unused)
    assert "cloudformation" in unused and len(unused) >= 10


@pytest.mark.slow
def test_suggested_policy_caveats_and_evidence(executed):
    notebook, plants = executed
    text = _text(notebook)
    assert "Access Advisor counts every authenticated attempt" in text
    assert "--- current " in text and "+++ suggested " in text  # the policy diff
    (evidence,) = _outputs(notebook, EVIDENCE_MIME)
    ran = {q["query"] for q in evidence["queries"]}
    assert {"principal_actions_used", "principal_last_activity", "policies_in_trail"} <= ran
    assert evidence["parameters"]["unused_days"] == 90


@pytest.mark.slow
def test_the_demo_public_bucket_is_the_one_resource_exposed(executed):
    notebook, _ = executed
    exposure, _ = _outputs(notebook, FINDINGS_MIME)
    # The demo's injected incident makes one bucket public (demo/incidents.py); nothing else is exposed.
    assert [(f["detection"], f["exposure"], f["resource_type"], f["resource"]) for f in exposure] == \
        [("resource_policy_external_access", "public", "s3_bucket", "acme-prod-customer-exports")]
