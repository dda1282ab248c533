"""notebooks/key_anomalies.ipynb end to end with papermill on the demo data, against its ground truth.

Hunt mode: the injected leaked-key story (new source, recon, AccessDenied burst, privilege
escalation, new user and key, mining) and the guardrail incidents (StopLogging, DeleteDetector,
public bucket policy) are findings naming the manifest's key, IP and events. Incident mode on the
leaked key: its timeline, the identity it created and the runbook. False-positive budget: on the
demo's background alone the hunt reports at most 5 findings per 100,000 events.
"""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest

from trailbook.paths import notebooks_dir

NOTEBOOK = notebooks_dir() / "key_anomalies.ipynb"
FINDINGS_MIME = "application/vnd.trailbook.findings+json"
pytestmark = pytest.mark.slow

# manifest incident -> detections that must report it (with an event of the incident).
STORY = {
    "leaked_key_first_use": {"key_new_source_ip", "key_new_source_network", "key_first_call_getcalleridentity"},
    "leaked_key_recon": {"enumeration_burst"},
    "leaked_key_access_denied_burst": {"access_denied_burst"},
    "leaked_key_privilege_escalation": {"iam_admin_policy_granted"},
    "leaked_key_persistence": {"iam_user_created_then_privileged", "iam_access_key_created_for_other_user"},
    "leaked_key_cryptomining": {"ec2_unusual_instance_launch", "ec2_vcpu_quota_probe"},
    "leaked_key_kali_user_agent": {"offensive_tool_user_agent"},
    "cloudtrail_stopped": {"cloudtrail_logging_disabled"},
    "guardduty_deleted": {"guardduty_disabled"},
    "public_bucket_policy": {"resource_policy_external_access"},
}


def _run(out: Path, demo: Path, **parameters) -> dict:
    papermill.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
                               parameters={"source": str(demo / "cloudtrail"), "store": str(out.parent / "store"),
                                           **parameters})
    return json.loads(out.read_text())


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _scope_html(notebook: dict) -> str:
    (cell,) = [c for c in notebook["cells"] if c["cell_type"] == "code" and _source(c) == "scope"]
    return "".join(cell["outputs"][0]["data"]["text/html"])


def _outputs(notebook: dict, key: str) -> list:
    return [o for cell in notebook["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])
            if key in o.get("data", {}) or o.get("output_type") == key]


@pytest.fixture(scope="module")
def manifest(demo_dir) -> dict:
    data = json.loads((Path(demo_dir) / "demo_manifest.json").read_text())
    return {i["id"]: i for i in data["incidents"]}


@pytest.fixture(scope="module")
def hunt(demo_dir, tmp_path_factory) -> dict:
    return _run(tmp_path_factory.mktemp("hunt") / "key_anomalies.ipynb", Path(demo_dir))


def test_leaked_key_story_and_guardrails_are_found(hunt, manifest):
    (findings,) = [o["data"][FINDINGS_MIME] for o in _outputs(hunt, FINDINGS_MIME)]
    for incident_id, detections in STORY.items():
        incident = manifest[incident_id]
        ids = set(incident["event_ids"])
        credited = {f["detection"] for f in findings if ids & set(f["event_ids"])}
        missing = detections - credited
        assert not missing, f"{incident_id}: not reported by {sorted(missing)} (got {sorted(credited)})"
        for f in findings:
            if f["detection"] in detections and ids & set(f["event_ids"]):
                assert f["access_key_id"] == incident["access_key_id"]
                assert f["account_id"] == incident["account_id"]
    leaked = manifest["leaked_key_first_use"]
    new_ip = [f for f in findings if f["detection"] == "key_new_source_ip"]
    assert [(f["access_key_id"], f["source_ip"]) for f in new_ip] == [(leaked["access_key_id"], leaked["source_ip"])]
    assert new_ip[0]["first_seen"] == leaked["first_event_time"]


def test_hunt_mode_says_so_and_prints_the_runbook_of_each_severe_incident(hunt, manifest):
    assert "Hunt mode: no key or principal is scoped" in _scope_html(hunt)
    assert len(_outputs(hunt, "image/png")) == 1  # the heatmap; no incident timeline
    text = "".join("".join(o["text"]) for o in _outputs(hunt, "stream"))
    titles = [line for line in text.splitlines() if line.startswith("# Response runbook for incident INC-")]
    assert len(titles) == 1 and titles[0].endswith("(critical)")  # the leaked key; the rest are not this severe
    leaked = manifest["leaked_key_first_use"]["access_key_id"]
    assert f"--access-key-id {leaked} --status Inactive" in text


def test_incident_mode_scopes_the_leaked_key(demo_dir, tmp_path_factory, manifest):
    leaked = manifest["leaked_key_first_use"]
    key = leaked["access_key_id"]
    notebook = _run(tmp_path_factory.mktemp("incident") / "key_anomalies.ipynb", Path(demo_dir), access_key_id=key)
    (findings,) = [o["data"][FINDINGS_MIME] for o in _outputs(notebook, FINDINGS_MIME)]
    assert findings and {f["access_key_id"] for f in findings} == {key}
    scope_html = _scope_html(notebook)
    assert f"Incident scope: {key}" in scope_html and leaked["source_ip"] in scope_html
    assert "CreateAccessKey" in scope_html and "AttachUserPolicy" in scope_html
    assert len(_outputs(notebook, "image/png")) == 2  # heatmap and incident timeline
    (stream,) = _outputs(notebook, "stream")
    text = "".join(stream["text"])
    user = leaked["principal_arn"].rsplit("/", 1)[1]
    assert f"aws iam update-access-key --user-name {user} --access-key-id {key} --status Inactive" in text
    assert f"aws iam delete-access-key --user-name {user} --access-key-id {key}" in text
    # The whole response, from the findings: the backdoor removed, the guardrails it switched off restored.
    persistence = manifest["leaked_key_persistence"]
    backdoor = persistence["created_user_arn"].rsplit("/", 1)[1]
    assert f"aws iam update-access-key --user-name {backdoor} --access-key-id {persistence['created_access_key_id']} " \
           "--status Inactive" in text
    assert f"aws iam attach-user-policy --user-name {user} " \
           "--policy-arn arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3" in text
    assert f"aws iam delete-access-key --user-name {backdoor} " \
           f"--access-key-id {persistence['created_access_key_id']}" in text
    assert f"aws iam delete-user --user-name {backdoor}" in text
    assert f"aws cloudtrail start-logging --name {manifest['cloudtrail_stopped']['trail_arn']}" in text
    assert "aws guardduty create-detector --enable --region us-east-1" in text  # deleted in us-east-1, per the manifest
    assert f"aws s3api put-public-access-block --bucket {manifest['public_bucket_policy']['bucket']} " in text


def test_false_positive_budget_on_background(tmp_path_factory):
    from trailbook import demo

    root = tmp_path_factory.mktemp("background")
    demo.generate(root, incidents=False, events=100_000)
    events = json.loads((root / "demo_manifest.json").read_text())["event_count"]
    notebook = _run(root / "key_anomalies.ipynb", root)
    (findings,) = [o["data"][FINDINGS_MIME] for o in _outputs(notebook, FINDINGS_MIME)]
    assert events >= 100_000
    assert len(findings) <= 5 * events / 100_000, [(f["detection"], f["principal_arn"]) for f in findings]
