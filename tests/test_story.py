"""One story across notebooks (issue 13): a key or identity an incident implicates is marked as such
wherever it appears, and every notebook of a report names the same incident.

The demo half runs what a report runs (plan, then prepare: the store, then every detection once, its
findings handed to the notebooks as `incidents_from`) and executes unused_permissions and
credential_hygiene with papermill. Expected values come from the demo's manifest (its ground truth:
the leaked key, the backdoor user and its key), never from the code under test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import papermill
import pytest

from trailbook import incidents as I
from trailbook.findings import FINDINGS_MIME

ACCOUNT = "111111111111"
WINDOW = ("2026-10-22T00:00:00Z", "2026-10-29T00:00:00Z")


# --- what an incident implicates (small records written by hand) -----------------------------


def _finding(detection: str, first_seen: str, **own) -> dict:
    return {"detection": detection, "severity": "high", "first_seen": first_seen, "last_seen": first_seen,
            "account_id": ACCOUNT, "region": "us-east-1", "principal_arn": f"arn:aws:iam::{ACCOUNT}:user/ci-deploy",
            "access_key_id": "AKIALEAKEDLEAKED0001", "source_ip": "203.0.113.66", "user_agent": "aws-cli/2",
            "event_names": [], "event_count": 1, "event_ids": [f"ev-{detection}-{first_seen}"], "mitre": [], **own}


def test_created_identities_and_acting_keys_are_implicated():
    records = [
        _finding("key_new_source_ip", "2026-10-26T01:12:07Z"),
        _finding("iam_user_created_then_privileged", "2026-10-26T01:52:30Z", created_user="svc-backup"),
        _finding("iam_access_key_created_for_other_user", "2026-10-26T01:54:02Z", target_users=["svc-backup"],
                 created_keys=["AKIABACKDOOR00000001"]),
        # the backdoor acts with its own key: it stays "created", never merely "used"
        _finding("key_first_call_getcalleridentity", "2026-10-26T02:03:40Z",
                 principal_arn=f"arn:aws:iam::{ACCOUNT}:user/svc-backup", access_key_id="AKIABACKDOOR00000001"),
        # a role session implicates its role
        _finding("key_new_region", "2026-10-26T02:10:00Z", access_key_id="ASIASESSION000000001",
                 principal_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/data-pipeline/attacker"),
        # a failed sign-in's typed name is a target, not an actor; and a finding in no incident marks nothing
        _finding("console_login_failures", "2026-10-20T00:00:00Z", severity="low", principal_arn="bob",
                 access_key_id=None, source_ip="198.51.100.1"),
    ]
    (incident,) = I.correlate(records).incidents
    # Two days later the backdoor acts again, in a more severe incident of its own (too far apart to link):
    # it is still the identity the first incident created.
    later = _finding("guardduty_disabled", "2026-10-28T05:00:00Z", severity="critical", source_ip="192.0.2.9",
                     principal_arn=f"arn:aws:iam::{ACCOUNT}:user/svc-backup", access_key_id="AKIABACKDOOR00000001")
    assert len(I.correlate([*records, later]).incidents) == 2
    assert I.implicated([*records, later])[f"principal:{ACCOUNT}:user/svc-backup"] == \
        I.Implication(incident.id, "created", incident.first_seen)
    found = I.implicated(records)
    user = f"principal:{ACCOUNT}:user"
    assert found[f"{user}/svc-backup"].role == "created" and found["key:AKIABACKDOOR00000001"].role == "created"
    assert found[f"{user}/ci-deploy"].role == "used" and found["key:AKIALEAKEDLEAKED0001"].role == "used"
    assert found[f"principal:{ACCOUNT}:role/data-pipeline"].role == "used"
    assert {m.incident for m in found.values()} == {incident.id}
    assert f"{user}/bob" not in found
    assert found["key:AKIALEAKEDLEAKED0001"].describe("key") == \
        f"compromised in incident {incident.id}: deactivate it now"
    assert found[f"{user}/svc-backup"].describe() == f"created during incident {incident.id}: remove it"


# --- the demo, as a report runs it ---------------------------------------------------------------


def _outputs(notebook: dict, mime: str) -> list:
    return [o["data"][mime] for cell in notebook["cells"] if cell["cell_type"] == "code"
            for o in cell.get("outputs", []) if mime in o.get("data", {})]


def _text(notebook: dict) -> str:
    return "\n".join("".join(o["data"].get("text/plain", "")) + "".join(o["data"].get("text/html", ""))
                     for cell in notebook["cells"] if cell["cell_type"] == "code"
                     for o in cell.get("outputs", []) if "data" in o)


@pytest.fixture(scope="module")
def demo_story(demo_dir, tmp_path_factory):
    from trailbook.reports.plan import plan_report
    from trailbook.reports.prepare import prepare_local_store

    demo = Path(demo_dir)
    manifest = {i["id"]: i for i in json.loads((demo / "demo_manifest.json").read_text())["incidents"]}
    backdoor = manifest["leaked_key_persistence"]["created_user_arn"]
    work = tmp_path_factory.mktemp("story")
    plan = plan_report(["unused_permissions", "credential_hygiene"], engine="local", start=WINDOW[0], end=WINDOW[1],
                       params={"source": str(demo / "cloudtrail"), "store": str(work / "store"),
                               "iam_snapshot": str(demo / "iam"), "focus_principal": backdoor})
    prepared = prepare_local_store(plan, progress=False)
    executed = {}
    for nb in plan.notebooks:
        out = work / f"{nb.name}.ipynb"
        papermill.execute_notebook(str(nb.path), str(out), kernel_name="python3", progress_bar=False,
                                   parameters=nb.parameters)
        executed[nb.name] = json.loads(out.read_text())
    return manifest, prepared, {nb.name: nb.parameters for nb in plan.notebooks}, executed


@pytest.mark.slow
def test_the_report_hands_every_notebook_the_same_findings(demo_story):
    _, prepared, parameters, _ = demo_story
    given = {name: p.get("incidents_from") for name, p in parameters.items()}
    assert len(set(given.values())) == 1 and Path(next(iter(given.values()))).is_file()
    assert prepared["incidents_from"] == given["unused_permissions"]


@pytest.mark.slow
def test_one_story_across_unused_permissions_and_hygiene(demo_story):
    manifest, _, _, executed = demo_story
    leaked = manifest["leaked_key_first_use"]["access_key_id"]
    persistence = manifest["leaked_key_persistence"]
    backdoor, backdoor_key = persistence["created_user_arn"], persistence["created_access_key_id"]
    assert persistence["access_key_id"] == leaked  # the demo's own story: the leaked key made the backdoor

    # unused_permissions: the backdoor is marked as the incident's, and gets "remove", not a right-sized policy.
    permissions = executed["unused_permissions"]
    _, unused = _outputs(permissions, FINDINGS_MIME)
    (over,) = [f for f in unused
               if f["principal_arn"] == backdoor and f["detection"] == "unused_permissions_over_privileged"]
    created = re.fullmatch(r"created during incident (INC-[0-9a-f]{12}): remove it", over["incident"])
    assert created, over["incident"]
    incident = created.group(1)
    assert over["detail"].startswith(f"created during incident {incident}")
    text = _text(permissions)
    assert f"No least-privilege policy for {backdoor}" in text
    assert "+++ suggested" not in text and "Suggested least-privilege policy for" not in text
    assert incident in text.split("Incidents in this window", 1)[1]  # the incidents table names it

    # credential_hygiene: the leaked key is compromised in the same incident, not a rotation matter.
    hygiene = executed["credential_hygiene"]
    (findings,) = _outputs(hygiene, FINDINGS_MIME)
    rotation = [f for f in findings if f["access_key_id"] == leaked]
    assert rotation and all(f["detail"].startswith(f"compromised in incident {incident}: deactivate it now")
                            and "not a rotation matter" in f["detail"] for f in rotation)
    assert all(f["incident"] == f"compromised in incident {incident}: deactivate it now" for f in rotation)
    keys_text = re.sub(r"<[^>]+>", "", _text(hygiene))  # tables wrap words in spans
    assert re.search(rf"{backdoor_key}.*?created during incident {incident}: remove it", keys_text, re.S)
    # A key no incident touches is still a rotation matter.
    stale = [f for f in findings if f["detection"] == "cis_1_14_key_rotation" and f["access_key_id"] != leaked]
    assert stale and all("incident" not in f["detail"] and not f.get("incident") for f in stale)
