"""`trailbook policy athena --one-scan`: what the opt-in one-scan mode adds, and only with the flag."""

from __future__ import annotations

import json

import pytest

from trailbook import aws
from trailbook.aws.operations import ONE_SCAN_ROLE
from trailbook.cli import main

SCOPE = ["--region", "eu-west-1", "--account-id", "111122223333", "--work-group", "security", "--database",
         "security", "--table", "cloudtrail", "--cloudtrail-bucket", "trail-bucket", "--results-bucket",
         "results-bucket"]


def _run(capsys, *args: str) -> tuple[dict, str]:
    assert main(["policy", "athena", *SCOPE, *args]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_the_default_policy_is_unchanged_and_grants_no_deletion(capsys):
    document, err = _run(capsys)
    assert err == ""
    assert document == aws.required_iam_policy(
        "athena", region="eu-west-1", account_id="111122223333", work_group="security", database="security",
        table="cloudtrail", cloudtrail_bucket="trail-bucket", results_bucket="results-bucket")
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert not actions & {"glue:CreateTable", "glue:DeleteTable", "glue:BatchCreatePartition",
                          "glue:BatchDeletePartition", "s3:DeleteObject"}


def test_one_scan_adds_exactly_the_temporary_table_and_its_data(capsys):
    plain, _ = _run(capsys)
    document, err = _run(capsys, "--one-scan")
    assert document["Statement"][:len(plain["Statement"])] == plain["Statement"]
    added = document["Statement"][len(plain["Statement"]):]
    # By hand, from the Athena and S3 guides: CTAS creates the Glue table (CreateTable, GetTable), DROP TABLE
    # deletes it (DeleteTable, GetTable, GetPartitions), Athena writes the Parquet as the caller (PutObject),
    # and trailbook deletes it (DeleteObjects needs s3:DeleteObject). The copy is partitioned by day: the CTAS
    # registers its partitions (BatchCreatePartition), the DROP removes them (BatchDeletePartition). Nothing
    # beyond trailbook_scan_* tables.
    assert added == [
        {"Sid": "TrailbookOneScanTemporaryTable", "Effect": "Allow",
         "Action": ["glue:BatchCreatePartition", "glue:BatchDeletePartition", "glue:CreateTable",
                    "glue:DeleteTable", "glue:GetPartitions", "glue:GetTable"],
         "Resource": ["arn:aws:glue:eu-west-1:111122223333:catalog",
                      "arn:aws:glue:eu-west-1:111122223333:database/security",
                      "arn:aws:glue:eu-west-1:111122223333:table/security/trailbook_scan_*"]},
        {"Sid": "TrailbookOneScanTemporaryData", "Effect": "Allow", "Action": ["s3:DeleteObject", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::results-bucket/*"]},
    ]
    # The printed line says what they are for, on stderr (stdout stays one JSON document).
    assert err.startswith("one-scan mode (opt-in) writes: one CTAS materializes the window")
    assert ("glue:BatchCreatePartition, glue:BatchDeletePartition, glue:CreateTable, glue:DeleteTable, "
            "glue:GetPartitions, glue:GetTable on ") in err
    assert "table/security/trailbook_scan_*" in err
    assert "s3:DeleteObject, s3:PutObject on arn:aws:s3:::results-bucket/*" in err


def test_the_one_scan_policy_covers_every_call_the_one_scan_session_may_make(capsys):
    document, _ = _run(capsys, "--one-scan")
    granted = {a for s in document["Statement"] for a in s["Action"]}
    for service, operations in aws.ALLOWED[ONE_SCAN_ROLE].items():
        for operation in operations:
            assert aws.iam_action(service, operation, ONE_SCAN_ROLE) in granted, f"{service}:{operation}"


@pytest.mark.parametrize("what", ["lake", "collect"])
def test_one_scan_is_for_athena_only(capsys, what):
    assert main(["policy", what, "--one-scan"]) == 2
    assert "--one-scan is for the athena policy" in capsys.readouterr().err
