"""The risk of leaving one action granted: privilege escalation, data access, or other."""

from __future__ import annotations

import pytest

from trailbook.analyses import permissions as P


@pytest.mark.parametrize("action, risk", [
    ("iam:PassRole", "privilege_escalation"),
    ("iam:PutRolePolicy", "privilege_escalation"),  # through the pattern iam:Put*Policy
    ("IAM:PUTUSERPOLICY", "privilege_escalation"),  # IAM action names are case-insensitive
    ("s3:GetObject", "data_access"),
    ("S3:getobject", "data_access"),
    ("ec2:DescribeInstances", "other"),
    ("iam:ListUsers", "other"),
    ("nosuch:Thing", "other"),  # not in the action list: no known risk
])
def test_risk_of_an_action(action, risk):
    assert P.risk_of(action) == risk
