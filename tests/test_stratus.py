"""Every Stratus Red Team detonation log (35 techniques) is caught by the detection meant for it.

Each technique's events (tests/fixtures/stratus/, Apache-2.0, anonymised by the source) go into a
store of their own; the whole key-misuse and guardrail hunt (plus the console-login queries for sign-in techniques)
runs over a window around them, with a baseline that holds nothing, as for a first detonation.
The defaults are used throughout: no threshold had to be lowered for a single detonation.

Exactness (issue 17): malicious_event_ids.json names, per recording, the eventIDs of the attack calls
themselves (chosen by reading the recording and the technique's Stratus description, each with its
reason). Every one of them must be cited by the technique's expected detection(s), and every finding
of the hunt on the recording must cite at least one of them: no finding may rest only on the
recording's set-up or background events (Stratus assuming its warm-up role, polling, clean-up),
unless it is listed in SIDE_FINDINGS with the reason.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import FIXTURES, local_session
from trailbook.analyses import keys as K

# 35 stores and the whole hunt on each: about two minutes on two cores.
pytestmark = pytest.mark.slow

STRATUS = FIXTURES / "stratus"

# technique -> the detection(s) that must report it.
EXPECTED: dict[str, tuple[str, ...]] = {
    "aws.credential-access.ec2-get-password-data": ("ec2_password_or_user_data_harvest",),
    "aws.credential-access.ec2-steal-instance-credentials": ("instance_credentials_outside_aws",),
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": ("secrets_bulk_retrieval",),
    "aws.credential-access.secretsmanager-retrieve-secrets": ("secrets_bulk_retrieval",),
    "aws.credential-access.ssm-retrieve-securestring-parameters": ("ssm_parameters_decrypted",),
    "aws.defense-evasion.cloudtrail-delete": ("cloudtrail_logging_disabled",),
    "aws.defense-evasion.cloudtrail-event-selectors": ("cloudtrail_config_weakened",),
    "aws.defense-evasion.cloudtrail-stop": ("cloudtrail_logging_disabled",),
    "aws.defense-evasion.dns-delete-logs": ("dns_query_logging_deleted",),
    "aws.defense-evasion.organizations-leave": ("organization_leave_attempt",),
    "aws.defense-evasion.vpc-remove-flow-logs": ("vpc_flow_logs_deleted",),
    "aws.discovery.ec2-download-user-data": ("ec2_password_or_user_data_harvest",),
    "aws.execution.ec2-launch-unusual-instances": ("ec2_unusual_instance_launch",),
    "aws.execution.ec2-user-data": ("ec2_user_data_modified",),
    "aws.execution.ssm-send-command": ("ssm_command_many_instances",),
    "aws.execution.ssm-start-session": ("ssm_command_many_instances",),
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": ("security_group_open_to_world",),
    "aws.exfiltration.ec2-share-ami": ("resource_shared_publicly",),
    "aws.exfiltration.ec2-share-ebs-snapshot": ("resource_shared_publicly",),
    "aws.exfiltration.rds-share-snapshot": ("resource_shared_publicly",),
    "aws.impact.bedrock-invoke-model": ("bedrock_invoke_new_principal",),
    "aws.initial-access.console-login-without-mfa": ("console_login_without_mfa",),
    "aws.lateral-movement.ec2-instance-connect": ("ec2_instance_connect_ssh_key",),
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": ("ec2_instance_connect_ssh_key",),
    "aws.persistence.iam-backdoor-role": ("iam_role_trust_backdoor",),
    "aws.persistence.iam-backdoor-user": ("iam_access_key_created_for_other_user",),
    "aws.persistence.iam-create-admin-user": ("iam_user_created_then_privileged", "iam_admin_policy_granted",
                                              "iam_access_key_created_for_other_user"),
    "aws.persistence.iam-create-backdoor-role": ("iam_role_trust_backdoor", "iam_admin_policy_granted"),
    "aws.persistence.iam-create-user-login-profile": ("login_profile_changed_by_other",),
    "aws.persistence.lambda-backdoor-function": ("lambda_resource_policy_backdoor",),
    "aws.persistence.lambda-layer-extension": ("lambda_code_or_layer_changed",),
    "aws.persistence.lambda-overwrite-code": ("lambda_code_or_layer_changed",),
    "aws.persistence.rolesanywhere-create-trust-anchor": ("roles_anywhere_trust_anchor",),
    "aws.persistence.sts-federation-token": ("long_term_key_session_token",),
    "aws.privilege-escalation.iam-update-user-login-profile": ("login_profile_changed_by_other",),
}
# Techniques whose events cannot be detected, with the reason. All 35 recorded ones can.
UNDETECTABLE: dict[str, str] = {}

# technique -> {"event_ids": the attack calls' eventIDs, "reason": why these and not the others}.
MALICIOUS: dict[str, dict] = json.loads((STRATUS / "malicious_event_ids.json").read_text())

# (technique, detection) -> why that detection may report the recording without citing an attack call.
SIDE_FINDINGS: dict[tuple[str, str], str] = {}


def _events(technique: str) -> list[dict]:
    return json.loads((STRATUS / f"{technique}.json").read_text())


def hunt_names(session) -> list[str]:
    """The whole key-misuse and guardrail hunt, plus the console-login queries for sign-in techniques."""
    return K.hunt_queries(session) + ["console_login_without_mfa", "login_profile_changed_by_other"]


def cited(found, detections) -> set[str]:
    """Every eventID the findings of these detections cite."""
    rows = found[found["detection"].isin(list(detections))]
    return {eid for ids in rows["event_ids"] for eid in ids}


def test_the_table_covers_every_recorded_technique():
    on_disk = sorted(p.stem for p in STRATUS.glob("aws.*.json"))
    assert len(on_disk) == 35
    assert sorted(set(EXPECTED) | set(UNDETECTABLE)) == on_disk
    assert not set(EXPECTED) & set(UNDETECTABLE)
    assert sorted(MALICIOUS) == on_disk


@pytest.mark.parametrize("technique", sorted(EXPECTED))
def test_malicious_ids_are_events_of_their_recording(technique):
    entry = MALICIOUS[technique]
    own_ids = {e["eventID"] for e in _events(technique)}
    assert entry["reason"].strip()
    assert entry["event_ids"] and set(entry["event_ids"]) <= own_ids
    assert len(set(entry["event_ids"])) == len(entry["event_ids"])


@pytest.mark.parametrize("technique", sorted(EXPECTED))
def test_technique_is_reported_by_its_detection(technique, tmp_path, catalog):
    events = _events(technique)
    times = sorted(e["eventTime"] for e in events)
    first = dt.datetime.fromisoformat(times[0].replace("Z", "+00:00"))
    start = first.replace(hour=0, minute=0, second=0)
    end = start + dt.timedelta(days=2)
    session = local_session(events, tmp_path, start=start, end=end, catalog=catalog)
    found = K.hunt(session, baseline_days=14, names=hunt_names(session))
    malicious = set(MALICIOUS[technique]["event_ids"])
    credited = {row.detection for row in found.itertuples() if malicious & set(row.event_ids)}
    missing = [name for name in EXPECTED[technique] if name not in credited]
    assert not missing, f"{technique}: not reported by {missing}; reported by {sorted(credited)}"
    uncited = malicious - cited(found, EXPECTED[technique])
    assert not uncited, f"{technique}: attack calls missing from {EXPECTED[technique]}'s findings: {sorted(uncited)}"
    # No finding rests only on set-up or background events.
    stray = sorted({row.detection for row in found.itertuples()
                    if not malicious & set(row.event_ids) and (technique, row.detection) not in SIDE_FINDINGS})
    assert not stray, f"{technique}: findings citing no attack call: {stray}"
    # Findings carry the technique's own identities, not placeholders.
    hits = found[found["detection"].isin(EXPECTED[technique])]
    assert set(hits["account_id"]) <= {e["recipientAccountId"] for e in events}
    assert (hits["event_count"] >= 1).all()
