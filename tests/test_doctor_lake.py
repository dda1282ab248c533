"""`trailbook lake doctor`: every check passes on a good setup, and one broken setup per check is
caught with its message; its calls are reads (the oracle) that `trailbook policy lake` grants.

moto has no CloudTrail Lake: GetEventDataStore is scripted with botocore's Stubber (responses are
validated against the botocore model), the test query is answered by `FakeLakeService` (DuckDB over
Lake-shaped records), and STS and KMS are moto's.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import aws_oracle
import test_engine_lake
from conftest import QUERY_FIXTURES
from test_engine_lake import EDS_ID, FakeLakeService
from trailbook import aws
from trailbook.cli import main
from trailbook.doctor import lake as doctor

aws_env = test_engine_lake.aws_env  # the shared fixture
MOTO_ACCOUNT = "123456789012"
EDS_ARN = f"arn:aws:cloudtrail:us-east-1:{MOTO_ACCOUNT}:eventdatastore/{EDS_ID}"
NOW = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)
BASE = json.loads((QUERY_FIXTURES / "root_activity" / "match.json").read_text())[0]
MANAGEMENT = [{"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]


def records(day: str = "2026-12-05", count: int = 3) -> list[dict[str, Any]]:
    out = []
    for n in range(count):
        rec = copy.deepcopy(BASE)
        rec.update(eventID=f"0000lake-{n:04d}-4000-8000-000000000000", eventTime=f"{day}T10:{n:02d}:00Z")
        out.append(rec)
    return out


def key_policy(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": principal},
         "Action": "kms:*", "Resource": "*"}]})


class Lake:
    """The event data store a report would query, good by default."""

    def __init__(self) -> None:
        self.kms = boto3.client("kms", region_name="us-east-1")
        self.key = self.kms.create_key(Policy=key_policy(f"arn:aws:iam::{MOTO_ACCOUNT}:root"))["KeyMetadata"]["Arn"]
        self.store: dict[str, Any] = {
            "EventDataStoreArn": EDS_ARN, "Name": "org-trail-lake", "Status": "ENABLED",
            "AdvancedEventSelectors": MANAGEMENT, "MultiRegionEnabled": True, "OrganizationEnabled": True,
            "RetentionPeriod": 2557, "TerminationProtectionEnabled": True, "KmsKeyId": self.key,
            "BillingMode": "EXTENDABLE_RETENTION_PRICING"}
        self.error: tuple[str, str] | None = None
        self.service = FakeLakeService(records())

    def hook(self, session: Any, role: str) -> None:
        """GetEventDataStore from a Stubber on the session's first CloudTrail client; queries from the fake."""
        self.service.install(session.events)
        make, lake = session.client, self

        def client(name: str, *args: Any, **kwargs: Any) -> Any:
            made = make(name, *args, **kwargs)
            if name == "cloudtrail" and not getattr(session, "_stubbed", False):
                session._stubbed = True
                stub = Stubber(made)
                if lake.error:
                    stub.add_client_error("get_event_data_store", lake.error[0], lake.error[1], 400)
                else:
                    stub.add_response("get_event_data_store", lake.store, {"EventDataStore": EDS_ID})
                stub.activate()
            return made
        session.client = client

    def run(self, **options: Any) -> doctor.Report:
        aws.add_session_hook(self.hook)
        try:
            return doctor.diagnose(now=NOW, **{"region": "us-east-1", "event_data_store": EDS_ID,
                                               "poll_interval": 0.0, **options})
        finally:
            aws.remove_session_hook(self.hook)


def lines(report: doctor.Report) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.line()) for c in report.checks}


@pytest.fixture
def lake(aws_env) -> Any:
    with mock_aws():
        yield Lake()


def test_a_good_setup_passes_every_check(lake):
    report = lake.run()
    found = lines(report)
    assert list(found) == ["credentials", "store", "retention", "selectors", "kms", "query"]
    assert {name: status for name, (status, _) in found.items()} == dict.fromkeys(found, "PASS"), report.lines()
    assert "org-trail-lake is enabled, records every region, the whole organization" in found["store"][1]
    assert "2557 days" in found["retention"][1]
    assert lake.key in found["kms"][1] and "kms:Decrypt" in found["kms"][1] and "kms:GenerateDataKey" in found["kms"][1]
    assert report.found["query"]["rows"] == 1 and "bytes scanned" in found["query"][1]
    # The test query read only the last day (the window is in the statement Lake received).
    assert "2026-12-05 00:00:00" in lake.service.statements[0] and "2026-12-06 00:00:00" in lake.service.statements[0]
    assert report.exit_code == 0


def test_its_calls_are_reads_the_lake_policy_grants(lake):
    before = len(aws_oracle.calls)
    lake.run()
    made = set(aws_oracle.calls[before:])
    assert {("sts", "GetCallerIdentity"), ("kms", "DescribeKey"), ("kms", "GetKeyPolicy")} <= made
    assert aws_oracle.violations(sorted(made)) == []
    # The Stubber and the fake answer before botocore's send, so the oracle sees only moto's calls;
    # the calls the session's guard let through are checked against the policy here instead.
    needs = {"GetEventDataStore": "cloudtrail:GetEventDataStore", "StartQuery": "cloudtrail:StartQuery",
             "DescribeQuery": "cloudtrail:DescribeQuery", "GetQueryResults": "cloudtrail:GetQueryResults",
             "DescribeKey": "kms:DescribeKey", "GetKeyPolicy": "kms:GetKeyPolicy"}
    policy = aws.required_iam_policy("lake", event_data_store=EDS_ARN, kms_key_arns=[lake.key])
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert set(needs.values()) <= granted
    assert lake.service.calls[:2] == ["StartQuery", "DescribeQuery"]


def test_no_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "TRAILBOOK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    report = doctor.diagnose(region="us-east-1", event_data_store=EDS_ID)
    found = lines(report)
    assert found["credentials"][0] == "FAIL" and "no AWS credentials found" in found["credentials"][1]
    assert {status for name, (status, _) in found.items() if name != "credentials"} == {"SKIP"}
    assert report.exit_code == 1


def test_an_unknown_event_data_store(lake):
    lake.error = ("EventDataStoreNotFoundException", "The specified event data store was not found.")
    found = lines(lake.run())
    assert found["store"][0] == "FAIL" and f"event data store {EDS_ID} was not found in region us-east-1" in \
        found["store"][1]
    assert found["query"][0] == "SKIP"


def test_a_denied_event_data_store_names_the_action(lake):
    lake.error = ("AccessDeniedException", "not authorized")
    found = lines(lake.run())
    assert "cloudtrail:GetEventDataStore was denied" in found["store"][1]
    assert "`trailbook policy lake`" in found["store"][1]


def test_stopped_ingestion(lake):
    lake.store["Status"] = "STOPPED_INGESTION"
    found = lines(lake.run())
    assert found["store"][0] == "FAIL" and "is STOPPED_INGESTION" in found["store"][1]
    assert "fix: start ingestion again (StartEventDataStoreIngestion)" in found["store"][1]


def test_one_region_only(lake):
    lake.store["MultiRegionEnabled"] = False
    found = lines(lake.run())
    assert found["store"][0] == "WARN" and "records only region us-east-1" in found["store"][1]


def test_short_retention(lake):
    lake.store["RetentionPeriod"] = 30
    found = lines(lake.run())
    assert found["retention"][0] == "WARN" and "kept 30 days" in found["retention"][1]


def test_a_store_without_management_events(lake):
    lake.store["AdvancedEventSelectors"] = [{"Name": "S3 data events", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]
    found = lines(lake.run())
    assert found["selectors"][0] == "FAIL"
    assert "records no CloudTrail management events (event categories: Data)" in found["selectors"][1]


def test_write_only_management_events(lake):
    lake.store["AdvancedEventSelectors"] = [{"Name": "writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}]
    found = lines(lake.run())
    assert found["selectors"][0] == "WARN" and "writes records only readOnly=false" in found["selectors"][1]


def test_a_key_policy_that_does_not_allow_the_caller(lake):
    other = lake.kms.create_key(Policy=key_policy("arn:aws:iam::999988887777:root"))["KeyMetadata"]["Arn"]
    lake.store["KmsKeyId"] = other
    found = lines(lake.run())
    assert found["kms"][0] == "FAIL" and "no statement allows kms:Decrypt" in found["kms"][1]


def test_a_key_in_another_account_is_left_to_the_test_query(lake):
    other = "arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    lake.store["KmsKeyId"] = other

    def describe_other(session: Any, role: str) -> None:  # moto keeps keys per account: KMS's answer, scripted
        make = session.client

        def client(name: str, *args: Any, **kwargs: Any) -> Any:
            made = make(name, *args, **kwargs)
            if name == "kms":
                stub = Stubber(made)
                stub.add_response("describe_key", {"KeyMetadata": {
                    "KeyId": other.rsplit("/", 1)[1], "Arn": other, "AWSAccountId": "999988887777",
                    "Enabled": True, "KeyState": "Enabled", "KeyManager": "CUSTOMER"}}, {"KeyId": other})
                stub.activate()
            return made
        session.client = client

    aws.add_session_hook(describe_other)
    try:
        found = lines(lake.run())
    finally:
        aws.remove_session_hook(describe_other)
    assert found["kms"][0] == "WARN" and "in account 999988887777" in found["kms"][1]
    assert "GetKeyPolicy is not cross-account" in found["kms"][1]


def test_no_events_in_the_last_day(lake):
    lake.service = FakeLakeService(records(day="2026-11-01"))
    found = lines(lake.run())
    assert found["query"][0] == "WARN" and "found no event in the last 24 hours" in found["query"][1]


def test_a_failed_test_query(lake):
    class Failing(FakeLakeService):
        def answer(self, operation: str, params: dict) -> dict:
            answered = super().answer(operation, params)
            if operation == "DescribeQuery":
                answered.update(QueryStatus="FAILED", ErrorMessage="Access denied to the KMS key")
            return answered

    lake.service = Failing(records())
    found = lines(lake.run())
    assert found["query"][0] == "FAIL" and "FAILED: Access denied to the KMS key" in found["query"][1]


def test_cli(lake, capsys, monkeypatch):
    monkeypatch.setenv("TRAILBOOK_LAKE_POLL_INTERVAL", "0")
    aws.add_session_hook(lake.hook)
    try:
        code = main(["lake", "doctor", "--region", "us-east-1", "--event-data-store", EDS_ID, "--json"])
    finally:
        aws.remove_session_hook(lake.hook)
    document = json.loads(capsys.readouterr().out)
    # The real clock: the fake's events are older than a day, so the query check warns, and warnings exit 0.
    assert code == 0 and document["ok"] is True
    assert [c["name"] for c in document["checks"]][:2] == ["credentials", "store"]
    assert main(["lake", "doctor", "--region", "us-east-1"]) == 2
    assert "lake doctor needs event_data_store" in capsys.readouterr().err
