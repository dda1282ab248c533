"""The read-only oracle in aws_oracle.py catches a write call made from library code, and lets
test code (seeding moto) and calls the guard refused pass."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

import aws_oracle
from trailbook.aws.guard import ReadOnlyViolation
from trailbook.aws.retry import RetryPolicy
from trailbook.aws.session import session as guarded_session


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def _new_calls(before: int) -> list[tuple[str, str]]:
    made = aws_oracle.calls[before:]
    del aws_oracle.calls[before:]  # keep this test's planted calls from failing its own teardown
    return made


def test_a_write_made_through_library_code_is_a_violation(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="trail")  # test code: not counted
    ct = boto3.client("cloudtrail")
    ct.create_trail(Name="org", S3BucketName="trail")
    before = len(aws_oracle.calls)
    # The retry policy's frame is library code, as it would be inside a collector that calls DeleteTrail.
    RetryPolicy().call(lambda: ct.delete_trail(Name="org"))
    made = _new_calls(before)
    assert made == [("cloudtrail", "DeleteTrail")]
    assert aws_oracle.violations(made) == ["cloudtrail:DeleteTrail"]


def test_reads_and_reviewed_lifecycle_calls_pass(aws: None) -> None:
    before = len(aws_oracle.calls)
    iam = boto3.client("iam")
    RetryPolicy().call(lambda: iam.list_users())
    RetryPolicy().call(lambda: boto3.client("sts").get_caller_identity())
    made = _new_calls(before)
    assert made == [("iam", "ListUsers"), ("sts", "GetCallerIdentity")]
    assert aws_oracle.violations(made) == []
    assert aws_oracle.violations([("athena", "StartQueryExecution"), ("cloudtrail", "CancelQuery")]) == []
    assert aws_oracle.violations([("athena", "DeleteWorkGroup"), ("iam", "CreateAccessKey"),
                                  ("s3", "PutObject")]) == ["athena:DeleteWorkGroup", "iam:CreateAccessKey",
                                                            "s3:PutObject"]


def test_a_call_the_guard_refused_never_reached_aws(aws: None) -> None:
    before = len(aws_oracle.calls)
    client = guarded_session("collect", region="us-east-1").client("cloudtrail")
    with pytest.raises(ReadOnlyViolation):
        RetryPolicy().call(lambda: client.delete_trail(Name="org"))
    assert _new_calls(before) == []
