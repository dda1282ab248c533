"""The whole analysis: a snapshot-only report and a trail-only report on real CloudTrail (Stratus
Red Team detonations), their findings and caveats."""

from __future__ import annotations

import pytest

from permissions_snapshot import IDLE, STRATUS_ROLE, STRATUS_USER, stratus_session, write_test_snapshot
from trailbook.analyses import permissions as P
from trailbook.iam import actions as A


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_snapshot_only_report(snapshot):
    report = P.analyse(None, snapshot, unused_days=90, inactive_days=90)
    findings = report.findings.set_index(["detection", "principal_arn"])
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "severity"] == "high"
    assert findings.loc[(P.DETECTION_INACTIVE, IDLE), "severity"] == "medium"  # inactive and able to escalate
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "first_seen"] == "2026-10-29T06:00:00Z"
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "event_count"] == 0
    assert findings.loc[(P.DETECTION_OVER_PRIVILEGED, IDLE), "mitre"] == ["T1078.004"]
    assert "Access Advisor counts every authenticated attempt" in P.show_caveats(report).text


def test_used_vs_granted_from_real_trail(tmp_path):
    """Stratus: CreateUser + AttachUserPolicy(AdministratorAccess), CreateRole + AttachRolePolicy(...).
    The principals rebuilt from the trail are checked in test_permissions_trail_replay."""
    session = stratus_session(tmp_path)
    user_arn, role_arn = STRATUS_USER, STRATUS_ROLE
    report = P.analyse(session, None, unused_days=90, inactive_days=90)
    comparison = report.comparison.set_index("principal_arn")
    assert comparison.loc[role_arn, "granted_actions"] == len(A.load_action_list())
    assert comparison.loc[role_arn, "used_actions"] == 0 and comparison.loc[role_arn, "risk"] == "privilege_escalation"
    # The actor's own calls are in the trail (used) but its policies are not: it is not a principal here.
    used = report.used.set_index("eventname")
    assert used.loc["AttachRolePolicy", "iam_action"] == "iam:AttachRolePolicy"
    assert used.loc["CreateUser", "principal_arn"] == "arn:aws:iam::229654561268:user/christophe"
    flagged = report.findings[report.findings["detection"].eq(P.DETECTION_OVER_PRIVILEGED)]
    assert set(flagged["principal_arn"]) == {user_arn, role_arn} and set(flagged["severity"]) == {"high"}
    assert P.suggested_policy(report.used, role_arn)["Statement"] == []
