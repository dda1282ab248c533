"""Read-only: the cloud engines call nothing but reads and the query-lifecycle calls.

An allow-list hook on every boto3 session the engines create records each operation; the
engines then run real catalog queries (Athena on moto, Lake on the fake service). Every
operation seen must be allowed, and the only non-reads allowed are StartQueryExecution,
StopQueryExecution, StartQuery and CancelQuery. The engines' own guard (trailbook.aws) must refuse
anything else before a request is built.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

import test_engine_athena
import test_engine_lake
from test_engine_athena import BUCKET, AthenaFromLocal
from test_engine_lake import EDS_ID, FakeLakeService, fixture_case, local_engine
from trailbook import aws
from trailbook.catalog import load_catalog
from trailbook.engines.athena import AthenaEngine
from trailbook.engines.lake import LakeEngine
from trailbook.session import Session

aws_env, moto_athena = test_engine_lake.aws_env, test_engine_athena.moto_athena  # shared fixtures
CATALOG = load_catalog()
READ_PREFIXES = ("Get", "List", "Describe", "Head")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def record(self, engine: str):
        def handler(model: Any, **_: Any) -> None:
            self.calls.append((engine, model.service_model.service_name, model.name))
        return handler

    def __call__(self, session: Any, engine: str) -> None:
        session.events.register("before-parameter-build", self.record(engine))


@pytest.fixture
def recorder():
    rec = Recorder()
    aws.add_session_hook(rec)
    yield rec
    aws.remove_session_hook(rec)


def test_engines_make_only_allowed_calls(tmp_path, moto_athena, recorder):
    records, params = fixture_case("root_activity")
    start, end = params.pop("start"), params.pop("end")
    local = local_engine(records, tmp_path)
    fake_athena = AthenaFromLocal(local, '"awsdatacatalog"."default"."cloudtrail"')
    fake_lake = FakeLakeService(records)
    lake_hook = lambda session, engine: fake_lake.install(session.events) if engine == "lake" else None  # noqa: E731
    aws.add_session_hook(fake_athena)
    aws.add_session_hook(lake_hook)
    try:
        athena = AthenaEngine(region="us-east-1", s3_staging_dir=f"s3://{BUCKET}/rb/", poll_interval=0.01)
        lake = LakeEngine(region="us-east-1", event_data_store=EDS_ID, poll_interval=0.0)
    finally:
        aws.remove_session_hook(fake_athena)
        aws.remove_session_hook(lake_hook)
    for engine in (athena, lake):
        session = Session(engine, start=start, end=end, catalog=CATALOG)
        assert len(session.detect(["root_activity", "console_login_without_mfa"])) > 0
    seen = set(recorder.calls)
    assert {("athena", "athena", "StartQueryExecution"), ("athena", "athena", "GetQueryExecution"),
            ("athena", "s3", "GetObject"), ("lake", "cloudtrail", "StartQuery"),
            ("lake", "cloudtrail", "DescribeQuery"), ("lake", "cloudtrail", "GetQueryResults")} <= seen
    for engine, service, operation in seen:
        assert aws.allowed(engine, service, operation), f"{engine} called {service}:{operation}"
        assert operation.startswith(READ_PREFIXES) or operation in aws.QUERY_LIFECYCLE, operation


@pytest.mark.parametrize("engine,service,call,kwargs", [
    ("athena", "athena", "delete_work_group", {"WorkGroup": "primary"}),
    ("athena", "athena", "create_named_query", {"Name": "x", "Database": "d", "QueryString": "SELECT 1"}),
    ("athena", "s3", "put_object", {"Bucket": "b", "Key": "k", "Body": b"x"}),
    ("athena", "s3", "delete_object", {"Bucket": "b", "Key": "k"}),
    ("athena", "glue", "delete_table", {"DatabaseName": "d", "Name": "t"}),
    ("lake", "cloudtrail", "stop_logging", {"Name": "trail"}),
    ("lake", "cloudtrail", "delete_event_data_store", {"EventDataStore": EDS_ID}),
    ("lake", "cloudtrail", "enable_federation",
     {"EventDataStore": EDS_ID, "FederationRoleArn": "arn:aws:iam::111122223333:role/r"}),
])
def test_engine_sessions_refuse_mutating_calls(engine, service, call, kwargs, aws_env):
    session = aws.session(engine, region="us-east-1")
    client = session.client(service)
    sent: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    with pytest.raises(aws.ReadOnlyViolation, match=f"refusing {service}:"):
        getattr(client, call)(**kwargs)
    assert sent == []  # refused before any request was built


def test_allow_list_is_real_reads_plus_lifecycle():
    from trailbook.aws.operations import ONE_SCAN_CALLS, ONE_SCAN_ROLE

    models = botocore.session.get_session()
    # One-scan is the opt-in role that deletes what its own CTAS wrote: the athena engine's calls plus
    # exactly these (tests/test_one_scan.py); every other engine role reads and runs queries only.
    one_scan = aws.ALLOWED[ONE_SCAN_ROLE]
    assert {s: one_scan[s] - aws.ALLOWED["athena"].get(s, frozenset()) for s in one_scan} == {
        "athena": frozenset(), "glue": frozenset({"GetTable"}), "s3": frozenset({"DeleteObjects"})}
    assert ONE_SCAN_CALLS["s3"] - {"DeleteObjects"} == {"ListObjectsV2"}
    for engine, services in {k: v for k, v in aws.ALLOWED.items() if k not in ("collect", ONE_SCAN_ROLE)}.items():
        for service, operations in services.items():
            known = set(models.get_service_model(service).operation_names)
            assert operations <= known, f"{engine}: unknown {service} operations {operations - known}"
            for operation in operations:
                assert operation.startswith(READ_PREFIXES) or operation in aws.QUERY_LIFECYCLE
    assert aws.QUERY_LIFECYCLE == {"StartQueryExecution", "StopQueryExecution", "StartQuery", "CancelQuery"}


def test_iam_policies_grant_exactly_the_engine_calls():
    athena = aws.required_iam_policy("athena", region="eu-west-1", account_id="111122223333",
                                        work_group="security", database="security", table="cloudtrail",
                                        cloudtrail_bucket="trail-bucket", results_bucket="results-bucket")
    by_sid = {s["Sid"]: s for s in athena["Statement"]}
    assert by_sid["TrailbookAthenaQueries"]["Action"] == [
        "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StartQueryExecution",
        "athena:StopQueryExecution"]
    assert by_sid["TrailbookAthenaQueries"]["Resource"] == "arn:aws:athena:eu-west-1:111122223333:workgroup/security"
    assert "arn:aws:glue:eu-west-1:111122223333:table/security/cloudtrail" in by_sid["TrailbookGlueTable"]["Resource"]
    assert by_sid["TrailbookReadCloudTrailLogs"]["Action"] == ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]
    assert "s3:PutObject" in by_sid["TrailbookAthenaResults"]["Action"]
    results = ["arn:aws:s3:::results-bucket", "arn:aws:s3:::results-bucket/*"]
    assert by_sid["TrailbookAthenaResults"]["Resource"] == results
    writes = {a for s in athena["Statement"] for a in s["Action"] if not a.split(":")[1].startswith(READ_PREFIXES)}
    assert writes == {"athena:StartQueryExecution", "athena:StopQueryExecution", "s3:PutObject",
                      "s3:AbortMultipartUpload"}  # the last two only on the results location
    lake = aws.required_iam_policy("lake", region="eu-west-1", account_id="111122223333", event_data_store=EDS_ID)
    assert lake["Statement"][:1] == [{  # then the doctor's reads (test_policy_cloud.py)
        "Sid": "TrailbookLakeQueries", "Effect": "Allow",
        "Action": ["cloudtrail:CancelQuery", "cloudtrail:DescribeQuery", "cloudtrail:GetQueryResults",
                   "cloudtrail:StartQuery"],
        "Resource": f"arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/{EDS_ID}"}]
    with pytest.raises(ValueError):
        aws.required_iam_policy("local")
