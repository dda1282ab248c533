"""Event name → IAM action mapping (with CloudTrail's quirks) and wildcard expansion against the
shipped IAM action list (derived from botocore's service models)."""

from __future__ import annotations

import gzip
import json

import pytest

from trailbook.iam import actions as A


@pytest.fixture(scope="module")
def listed() -> A.ActionList:
    return A.load_action_list()


def test_shipped_list_is_small_and_derived_from_botocore(listed):
    assert A.DATA_FILE.stat().st_size < 300_000
    document = json.loads(gzip.decompress(A.DATA_FILE.read_bytes()))
    assert document["format"] == A.FORMAT and document["botocore_version"].startswith("1.")
    # API operations of several services, under their IAM prefixes (not botocore's signing names).
    for action in ("ec2:RunInstances", "iam:CreateAccessKey", "cloudwatch:PutMetricData", "ses:SendEmail",
                   "lambda:UpdateFunctionCode", "sts:AssumeRole", "kms:Decrypt", "iot:Publish"):
        assert action in listed, action
    assert "monitoring" not in listed.services and "email" not in listed.services
    # Permission-only actions have no API of that name; they come from PERMISSION_ONLY.
    for action in ("iam:PassRole", "s3:ListAllMyBuckets", "s3:ListBucket", "s3:GetObjectVersion", "sts:TagSession"):
        assert action in listed, action
    # S3 API names that are not IAM actions are not listed as actions.
    assert "s3:ListBuckets" not in listed and "s3:HeadObject" not in listed and "s3:ListObjectsV2" not in listed
    # Dated suffixes are cut (CloudFront's API names carry them in botocore).
    assert not [a for a in listed.services["cloudfront"] if a[-4:].isdigit()]


def test_lookup_is_case_insensitive(listed):
    assert listed.canonical("IAM:passrole") == "iam:PassRole"
    assert listed.canonical("iam:NoSuchAction") is None


@pytest.mark.parametrize("source, name, action, kind", [
    ("s3.amazonaws.com", "ListBuckets", "s3:ListAllMyBuckets", "renamed"),
    ("s3.amazonaws.com", "GetBucketAcl", "s3:GetBucketAcl", "direct"),
    ("s3.amazonaws.com", "ListObjectsV2", "s3:ListBucket", "renamed"),
    ("s3.amazonaws.com", "HeadObject", "s3:GetObject", "renamed"),
    ("s3.amazonaws.com", "GetBucketCors", "s3:GetBucketCORS", "renamed"),
    ("s3.amazonaws.com", "DeleteBucketLifecycle", "s3:PutLifecycleConfiguration", "renamed"),
    ("s3.amazonaws.com", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock", "renamed"),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "lambda:UpdateFunctionCode", "version_suffix"),
    ("lambda.amazonaws.com", "AddPermission20150331v2", "lambda:AddPermission", "version_suffix"),
    ("lambda.amazonaws.com", "ListFunctions20150331", "lambda:ListFunctions", "version_suffix"),
    ("cloudfront.amazonaws.com", "GetDistribution2020_05_31", "cloudfront:GetDistribution", "version_suffix"),
    ("monitoring.amazonaws.com", "PutMetricData", "cloudwatch:PutMetricData", "direct"),
    ("email.amazonaws.com", "SendRawEmail", "ses:SendRawEmail", "direct"),
    ("apigateway.amazonaws.com", "GetRestApis", "apigateway:GET", "renamed"),
    ("apigateway.amazonaws.com", "DeleteStage", "apigateway:DELETE", "renamed"),
    ("iam.amazonaws.com", "CreateRole", "iam:CreateRole", "direct"),
    ("access-analyzer.amazonaws.com", "ListFindingsV2", "access-analyzer:ListFindingsV2", "direct"),
    ("ec2-instance-connect.amazonaws.com", "SendSSHPublicKey", "ec2-instance-connect:SendSSHPublicKey", "direct"),
    ("sts.amazonaws.com", "GetCallerIdentity", None, "no_permission"),
    ("sts.amazonaws.com", "AssumeRoleWithSAML", None, "no_permission"),
    ("signin.amazonaws.com", "ConsoleLogin", None, "no_permission"),
    ("signin.amazonaws.com", "CredentialChallenge", None, "no_permission"),
    ("iam.amazonaws.com", "NotARealCall", "iam:NotARealCall", "unlisted"),
])
def test_event_to_action(listed, source, name, action, kind):
    assert A.event_to_action(source, name, listed) == A.EventAction(action, kind)


def test_service_prefix_renames(listed):
    assert A.service_prefix("monitoring.amazonaws.com", listed) == "cloudwatch"
    assert A.service_prefix("streams.dynamodb.amazonaws.com", listed) == "dynamodb"
    assert A.service_prefix("S3.AMAZONAWS.COM", listed) == "s3"


@pytest.mark.parametrize("source, name", [("", "ListBuckets"), ("s3.amazonaws.com", ""), (None, "x"), ("s3.amazonaws.com", None)])
def test_event_to_action_rejects_empty_input(listed, source, name):
    with pytest.raises(ValueError):
        A.event_to_action(source, name, listed)


def test_wildcard_expansion(listed):
    gets = A.expand_action("s3:Get*", listed)
    assert {"s3:GetObject", "s3:GetBucketPolicy", "s3:GetObjectVersion"} <= gets
    assert all(a.startswith("s3:Get") for a in gets)
    assert A.expand_action("iam:Put*Policy", listed) == {"iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy"}
    assert A.expand_action("IAM:PASSROLE", listed) == {"iam:PassRole"}  # case-insensitive, canonical spelling
    every = A.expand_action("*", listed)
    assert len(every) == len(listed) and "ec2:RunInstances" in every
    assert A.expand_action("iam:Attach?olePolicy", listed) == {"iam:AttachRolePolicy"}
    # A literal newer than the list is kept; a wildcard matching nothing is empty (reported by callers).
    assert A.expand_action("s3:SomeFutureAction", listed) == {"s3:SomeFutureAction"}
    assert A.expand_action("nosuchservice:*", listed) == frozenset()
    assert A.expand_action("s*:ListBucket", listed) == {"s3:ListBucket"}


def test_not_action_is_the_complement(listed):
    allowed = A.expand_not_action(["iam:*", "organizations:*"], listed)
    assert "ec2:RunInstances" in allowed and "s3:GetObject" in allowed
    assert not any(a.startswith(("iam:", "organizations:")) for a in allowed)
    assert len(allowed) == len(listed) - len(A.expand_actions(["iam:*", "organizations:*"], listed))


@pytest.mark.parametrize("bad", ["s3", "s3:", ":Get*", "s3:Get Object", 42, "s3:Get*;DROP"])
def test_bad_patterns_raise(listed, bad):
    with pytest.raises(A.ActionListError):
        A.expand_action(bad, listed)


def test_action_matches():
    assert A.action_matches("iam:Attach*", "iam:AttachUserPolicy")
    assert A.action_matches("*", "kms:Decrypt")
    assert not A.action_matches("iam:Attach*", "iam:DetachUserPolicy")


def test_missing_list_is_a_clear_error(tmp_path):
    with pytest.raises(A.ActionListError, match="missing"):
        A.load_action_list(tmp_path / "none.json.gz")
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b'{"format": "other"}'))
    with pytest.raises(A.ActionListError, match="format"):
        A.load_action_list(bad)
