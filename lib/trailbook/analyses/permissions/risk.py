"""How dangerous one IAM action is to leave granted: privilege escalation, data access, or other."""

from __future__ import annotations

from functools import lru_cache

from trailbook.iam import actions as A

# Unused grants, riskiest first. Patterns are IAM action patterns (case-insensitive).
PRIVILEGE_ESCALATION = (
    "iam:PassRole", "iam:Put*Policy", "iam:Attach*Policy", "iam:CreateAccessKey", "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile", "iam:AddUserToGroup", "iam:CreateRole", "iam:CreateUser",
    "iam:Delete*PermissionsBoundary", "sts:AssumeRole", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration", "lambda:CreateFunction", "lambda:AddPermission",
    "glue:UpdateDevEndpoint", "glue:CreateDevEndpoint", "cloudformation:CreateStack",
    "cloudformation:UpdateStack", "ec2:RunInstances", "ssm:SendCommand", "ssm:StartSession",
    "ec2-instance-connect:SendSSHPublicKey", "codebuild:CreateProject", "datapipeline:CreatePipeline",
)
DATA_ACCESS = (
    "s3:GetObject", "s3:GetObjectVersion", "s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl",
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "ssm:GetParameter",
    "ssm:GetParameters", "ssm:GetParametersByPath", "kms:Decrypt", "kms:CreateGrant", "dynamodb:GetItem",
    "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "ec2:GetPasswordData",
    "ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute", "rds:ModifyDBSnapshotAttribute",
    "lambda:GetFunction", "sqs:ReceiveMessage", "kinesis:GetRecords", "ecr:GetDownloadUrlForLayer",
)
RISK_ORDER = {"privilege_escalation": 3, "data_access": 2, "wildcard": 1, "other": 0}
RISK_SEVERITY = {"privilege_escalation": "high", "data_access": "medium", "wildcard": "medium", "other": "low"}


@lru_cache(maxsize=1)
def _risky_sets() -> tuple[frozenset[str], frozenset[str]]:
    listed = A.load_action_list()
    lower = lambda names: frozenset(n.lower() for n in names)  # noqa: E731 (IAM names are case-insensitive)
    return lower(A.expand_actions(PRIVILEGE_ESCALATION, listed)), lower(A.expand_actions(DATA_ACCESS, listed))


def risk_of(action: str) -> str:
    """privilege_escalation | data_access | other, for one IAM action."""
    privesc, data = _risky_sets()
    key = action.lower()
    if key in privesc:
        return "privilege_escalation"
    if key in data:
        return "data_access"
    return "other"
