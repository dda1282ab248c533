"""Actions used in CloudTrail mapped to IAM actions, compared with what is granted, and the risk
ranking of what stays unused."""

from __future__ import annotations

import pytest

from permissions_snapshot import ACCOUNT, IDLE, USER, used_actions, write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_used_vs_granted_risk_and_findings(snapshot):
    used = used_actions([
        [ACCOUNT, USER, "IAMUser", "s3.amazonaws.com", "ListBuckets", 3, "2026-10-27T00:00:00Z", "2026-10-27T01:00:00Z", []],
        [ACCOUNT, USER, "IAMUser", "s3.amazonaws.com", "GetObject", 2, "2026-10-27T00:00:00Z", "2026-10-27T01:00:00Z",
         ["arn:aws:s3:::reports/a.csv"]],
        [ACCOUNT, USER, "IAMUser", "sts.amazonaws.com", "GetCallerIdentity", 1, "2026-10-27T00:00:00Z", "2026-10-27T00:00:00Z", []],
        [ACCOUNT, USER, "IAMUser", "ec2.amazonaws.com", "DescribeInstances", 1, "2026-10-27T00:00:00Z", "2026-10-27T00:00:00Z", []],
    ])
    assert used.loc[used["eventname"].eq("ListBuckets"), "iam_action"].item() == "s3:ListAllMyBuckets"
    assert used.loc[used["eventname"].eq("GetCallerIdentity"), "mapping"].item() == "no_permission"
    services = P.service_last_accessed(snapshot)
    comparison = P.compare(P.principals(snapshot), used, services=services).set_index("principal_arn")
    dana = comparison.loc[USER]
    assert dana["used_actions"] == 2 and dana["used_not_granted"] == ["ec2:DescribeInstances"]
    assert dana["unused_privilege_escalation"] == ["iam:PassRole"] and dana["risk"] == "privilege_escalation"
    assert dana["unused_services"] == ["iam"] and dana["severity"] == "high"
    assert comparison.loc[IDLE, "granted_actions"] > 10_000 and comparison.loc[IDLE, "used_actions"] == 0
    risky = P.unused_risky_actions(comparison.reset_index())
    assert ("iam:PassRole", "privilege_escalation") in set(zip(risky[risky["principal_arn"].eq(USER)]["action"], risky["risk"]))
