"""`trailbook policy`: the event data store ARN is built once, and KMS keys can be added."""

from __future__ import annotations

import json

import pytest

from trailbook import aws
from trailbook.cli import main
from trailbook.errors import UsageError

EDS_ID = "0f2d4c1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"
EDS_ARN = f"arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/{EDS_ID}"
TRAIL_KEY = "arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RESULTS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/aaaabbbb-12ab-34cd-56ef-1234567890ab"


def _policy(capsys, *args: str) -> dict:
    assert main(["policy", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _by_sid(document: dict) -> dict:
    return {s["Sid"]: s for s in document["Statement"]}


@pytest.mark.parametrize("given", [EDS_ARN, EDS_ID])
def test_lake_takes_an_event_data_store_id_or_arn(capsys, given):
    document = _policy(capsys, "lake", "--event-data-store", given, "--region", "eu-west-1",
                       "--account-id", "111122223333")
    assert _by_sid(document)["TrailbookLakeQueries"]["Resource"] == EDS_ARN


def test_an_arn_alone_is_enough(capsys):
    document = _policy(capsys, "lake", "--event-data-store", EDS_ARN)
    assert _by_sid(document)["TrailbookLakeQueries"]["Resource"] == EDS_ARN


def test_an_arn_that_disagrees_with_the_region_is_refused(capsys):
    assert main(["policy", "lake", "--event-data-store", EDS_ARN, "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert "--region us-east-1 disagrees" in err and "Traceback" not in err


def test_athena_kms_keys_decrypt_logs_and_write_results(capsys):
    other = TRAIL_KEY.replace("1234abcd", "5678dcba")
    document = _policy(capsys, "athena", "--kms-key-arn", TRAIL_KEY, "--kms-key-arn", other,
                       "--results-kms-key-arn", RESULTS_KEY)
    by_sid = _by_sid(document)
    assert by_sid["TrailbookDecryptLogs"]["Action"] == ["kms:Decrypt"]
    assert by_sid["TrailbookDecryptLogs"]["Resource"] == [TRAIL_KEY, other]  # sorted: 1234... before 5678...
    assert by_sid["TrailbookEncryptedResults"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert by_sid["TrailbookEncryptedResults"]["Resource"] == [RESULTS_KEY]


def test_without_keys_no_kms_statement(capsys):
    document = _policy(capsys, "athena")
    assert not [s for s in document["Statement"] if any(a.startswith("kms:") for a in s["Action"])]


def test_lake_key_gets_the_write_access_cloudtrail_asks_for():
    by_sid = _by_sid(aws.required_iam_policy("lake", event_data_store=EDS_ARN, kms_key_arns=[TRAIL_KEY]))
    assert by_sid["TrailbookDecryptLogs"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_collect_takes_kms_keys_too(capsys):
    by_sid = _by_sid(_policy(capsys, "collect", "--kms-key-arn", TRAIL_KEY))
    assert by_sid["TrailbookDecryptLogs"] == {"Sid": "TrailbookDecryptLogs", "Effect": "Allow",
                                             "Action": ["kms:Decrypt"], "Resource": [TRAIL_KEY]}


@pytest.mark.parametrize("kwargs,message", [
    ({"kms_key_arns": ["alias/my-key"]}, "not a KMS key ARN"),
    ({"results_kms_key_arns": [RESULTS_KEY]}, "for the athena policy"),
    ({"event_data_store": 'x" OR 1'}, "not an event data store id or ARN"),
    ({"event_data_store": "arn:aws:cloudtrail:eu-west-1:1111:eventdatastore/x"}, "not an event data store ARN"),
])
def test_bad_policy_input_is_a_usage_error(kwargs, message):
    with pytest.raises(UsageError, match=message):
        aws.required_iam_policy("lake", **kwargs)


def test_the_doctors_reads_are_granted_scoped_to_the_named_resources(capsys):
    # IAM actions from the AWS service authorization reference, written out, not derived from trailbook.
    athena = _by_sid(_policy(capsys, "athena", "--region", "eu-west-1", "--account-id", "111122223333",
                             "--work-group", "security", "--cloudtrail-bucket", "trail-bucket",
                             "--kms-key-arn", TRAIL_KEY))
    assert athena["TrailbookDoctorAthena"]["Action"] == ["athena:GetWorkGroup"]
    assert athena["TrailbookDoctorAthena"]["Resource"] == "arn:aws:athena:eu-west-1:111122223333:workgroup/security"
    assert athena["TrailbookDoctorS3"] == {"Sid": "TrailbookDoctorS3", "Effect": "Allow",
                                           "Action": ["s3:GetEncryptionConfiguration"],
                                           "Resource": "arn:aws:s3:::trail-bucket"}
    assert athena["TrailbookDoctorKms"]["Action"] == ["kms:DescribeKey", "kms:GetKeyPolicy"]
    assert athena["TrailbookDoctorKms"]["Resource"] == [TRAIL_KEY]
    # What the doctor also calls is already granted to the engine: the table, the bucket's listing, objects.
    assert "glue:GetTable" in athena["TrailbookGlueTable"]["Action"]
    assert {"s3:ListBucket", "s3:GetObject"} <= set(athena["TrailbookReadCloudTrailLogs"]["Action"])
    lake = _by_sid(_policy(capsys, "lake", "--event-data-store", EDS_ARN))
    assert lake["TrailbookDoctorCloudtrail"] == {"Sid": "TrailbookDoctorCloudtrail", "Effect": "Allow",
                                                 "Action": ["cloudtrail:GetEventDataStore"], "Resource": EDS_ARN}
    # Without keys there is nothing to scope KMS reads to: no statement (the doctor names the key to add).
    assert "TrailbookDoctorKms" not in lake
    assert not any(a.startswith("sts:") for s in lake.values() for a in s["Action"])  # GetCallerIdentity needs none
