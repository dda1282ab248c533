"""The Athena engine through pyathena: on moto for results, on Stubber for the failure states.

moto does not run SQL. `AthenaFromLocal` seeds moto's result queue, just before each
StartQueryExecution, with the rows the LOCAL engine computes for the same SQL (Athena's text
with the table name swapped for the local store's), so pyathena's PandasCursor path runs on
realistic rows. moto writes result CSVs without escaping quotes; `quote_safe_results` fixes that
in moto, as real Athena quotes CSV, so JSON-valued columns survive (tested below).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber

import test_engine_lake
from test_engine_lake import comparable, engine_text, fixture_case, local_engine
from trailbook import aws, ddl, schema
from trailbook.catalog import load_catalog
from trailbook.engines import settings as C
from trailbook.engines.athena import AthenaEngine
from trailbook.engines.base import BudgetExceeded, EngineError, scan_cost_usd
from trailbook.session import Session

aws_env = test_engine_lake.aws_env  # the fixture, shared
CATALOG = load_catalog()
MOTO_ACCOUNT = "123456789012"
BUCKET = "trailbook-athena-results"
QID = "2c4d9e1a-0b3f-4a5e-8c7d-6f1e2a3b4c5d"


def _athena_type(values: list) -> str:
    present = [v for v in values if v is not None and not (isinstance(v, float) and pd.isna(v))]
    if present and all(isinstance(v, (list, tuple)) or hasattr(v, "tolist") and not isinstance(v, str)
                       for v in present):
        return "array"
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "bigint"
    if present and all(isinstance(v, float) for v in present):
        return "double"
    return "varchar"


def moto_results(frame: pd.DataFrame):
    """moto QueryResults for a DataFrame: a header row, then every value as Athena's text."""
    from moto.athena.models import QueryResults

    columns = list(frame.columns)
    scalar = lambda v: v.item() if hasattr(v, "item") and getattr(v, "ndim", 0) == 0 else v  # noqa: E731
    types = [_athena_type([scalar(v) for v in frame[c]]) for c in columns]
    rows = [{"Data": [{"VarCharValue": c} for c in columns]}]
    for record in frame.itertuples(index=False):
        rows.append({"Data": [{} if engine_text(v) is None else {"VarCharValue": engine_text(v)} for v in record]})
    info = [{"Name": c, "Label": c, "Type": t, "CatalogName": "hive", "SchemaName": "", "TableName": "",
             "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": t == "varchar"}
            for c, t in zip(columns, types, strict=True)]
    return QueryResults(rows=rows, column_info=info)


def quote_safe_results(self, exec_id: str) -> None:
    """moto's _store_query_result_in_s3, writing CSV with quotes escaped as Athena does."""
    from moto.athena.models import s3_backends
    from moto.s3.utils import bucket_and_name_from_url

    bucket, key = bucket_and_name_from_url(self.executions[exec_id].config["OutputLocation"])
    # Athena quotes every non-NULL value (doubling inner quotes) and leaves NULL empty.
    text = "\n".join(",".join('"' + cell["VarCharValue"].replace('"', '""') + '"' if "VarCharValue" in cell else ""
                              for cell in row["Data"])
                     for row in self.query_results[exec_id].rows) + "\n"
    s3_backends[self.account_id][self.partition].put_object(bucket_name=bucket, key_name=key, value=text.encode())


class AthenaFromLocal:
    """Seeds moto's Athena with the local engine's result for each statement, and fakes scan statistics."""

    def __init__(self, local: Any, table_sql: str, bytes_per_query: int = 50 * 1024**2) -> None:
        self.local, self.table_sql, self.bytes_per_query = local, table_sql, bytes_per_query
        self.statements: list[str] = []
        self.operations: list[tuple[str, str]] = []

    def remember(self, params: dict, model: Any, **_: Any) -> None:
        self.operations.append((model.service_model.service_name, model.name))
        if model.name == "StartQueryExecution":
            from moto.athena.models import athena_backends

            sql = params["QueryString"]
            self.statements.append(sql)
            frame, _ = self.local.execute(sql.replace(self.table_sql, "cloudtrail"))
            athena_backends[MOTO_ACCOUNT]["us-east-1"].query_results_queue.append(moto_results(frame))

    def statistics(self, parsed: dict, **_: Any) -> None:
        stats = parsed.get("QueryExecution", {}).get("Statistics")
        if stats is not None:
            stats.update(DataScannedInBytes=self.bytes_per_query, EngineExecutionTimeInMillis=321,
                         QueryQueueTimeInMillis=12, TotalExecutionTimeInMillis=400)

    def __call__(self, session: Any, engine: str) -> None:
        session.events.register("before-parameter-build", self.remember)
        session.events.register("after-call.athena.GetQueryExecution", self.statistics)


@pytest.fixture
def moto_athena(aws_env, monkeypatch):
    from moto import mock_aws
    from moto.athena.models import AthenaBackend
    from moto.moto_api import state_manager

    monkeypatch.setattr(AthenaBackend, "_store_query_result_in_s3", quote_safe_results)
    with mock_aws():
        state_manager.set_transition("athena::execution", {"progression": "immediate"})
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield
        state_manager.unset_transition("athena::execution")


def seeded_engine(local: Any, **options: Any) -> tuple[AthenaEngine, AthenaFromLocal]:
    table_sql = '"awsdatacatalog"."security"."cloudtrail"'
    fake = AthenaFromLocal(local, table_sql)
    aws.add_session_hook(fake)
    try:
        engine = AthenaEngine(region="us-east-1", s3_staging_dir=f"s3://{BUCKET}/trailbook/", database="security",
                              poll_interval=0.01, **options)
    finally:
        aws.remove_session_hook(fake)
    assert engine.table_sql == table_sql
    return engine, fake


# --- realistic rows through pyathena (moto) ----------------------------------------------------

@pytest.mark.parametrize("name", ["root_activity", "console_login_without_mfa", "cloudtrail_logging_disabled"])
def test_athena_findings_equal_local_findings(name, tmp_path, moto_athena):
    records, params = fixture_case(name)
    start, end = params.pop("start"), params.pop("end")
    local = local_engine(records, tmp_path)
    expected = Session(local, start=start, end=end, catalog=CATALOG).run(name, **params)
    engine, fake = seeded_engine(local)
    session = Session(engine, start=start, end=end, catalog=CATALOG)
    got = session.run(name, **params)
    assert len(got) == len(expected) > 0
    assert comparable(got) == comparable(expected)
    assert isinstance(got["event_ids"][0], list) and got["event_count"].dtype == "int64"
    run = session.evidence[-1]
    assert run.sql.strip() == fake.statements[0] and '"awsdatacatalog"."security"."cloudtrail"' in run.sql
    assert "date_partition BETWEEN" in run.sql
    assert run.stats["bytes_scanned"] == 50 * 1024**2
    assert run.stats["cost_usd"] == scan_cost_usd(50 * 1024**2)
    assert run.stats["engine_ms"] == 321 and run.stats["queue_ms"] == 12 and run.stats["total_ms"] == 400
    assert uuid.UUID(run.stats["execution_id"])


def test_json_valued_columns_survive_the_csv(tmp_path, moto_athena):
    records, _ = fixture_case("cloudtrail_logging_disabled")
    local = local_engine(records, tmp_path)
    engine, _ = seeded_engine(local)
    sql = ('SELECT eventid, requestparameters FROM "awsdatacatalog"."security"."cloudtrail" '
           "WHERE requestparameters IS NOT NULL ORDER BY eventid")
    frame, _ = engine.execute(sql)
    expected, _ = local.execute(sql.replace('"awsdatacatalog"."security"."cloudtrail"', "cloudtrail"))
    assert len(frame) == len(expected) > 0
    for got, want in zip(frame["requestparameters"], expected["requestparameters"], strict=True):
        assert json.loads(got) == json.loads(want)  # quotes inside JSON text intact


def test_byte_budget_stops_the_run_before_the_next_query(tmp_path, moto_athena):
    records, params = fixture_case("root_activity")
    start, end = params.pop("start"), params.pop("end")
    engine, fake = seeded_engine(local_engine(records, tmp_path))
    session = Session(engine, start=start, end=end, catalog=CATALOG, byte_budget=60 * 1024**2)
    session.run("root_activity")
    session.run("root_activity")  # 50 MB spent of 60: still allowed
    with pytest.raises(BudgetExceeded, match="byte budget of 62,914,560 bytes is spent"):
        session.run("root_activity")
    assert len(fake.statements) == 2  # nothing was sent for the refused query


# --- failure states (Stubber) -----------------------------------------------------------------

def _execution(state: str, reason: str | None = None, scanned: int = 0) -> dict:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": QID, "Query": "SELECT 1", "Status": status,
                               "Statistics": {"DataScannedInBytes": scanned}}}


def stubbed_engine(**options: Any) -> tuple[AthenaEngine, Stubber]:
    session = boto3.Session(region_name="us-east-1")
    engine = AthenaEngine(session=session, region="us-east-1", s3_staging_dir=f"s3://{BUCKET}/x/",
                          poll_interval=0.0, max_poll_interval=0.0, retry_attempts=3, **options)
    stub = Stubber(engine.connection.client)
    return engine, stub


def _start(stub: Stubber) -> None:
    stub.add_response("start_query_execution", {"QueryExecutionId": QID},
                      {"QueryString": "SELECT 1", "QueryExecutionContext": ANY, "ResultConfiguration": ANY})


@pytest.mark.parametrize("state,reason", [
    ("FAILED", "SYNTAX_ERROR: line 1:8: Column 'nosuch' cannot be resolved"),
    ("CANCELLED", "Query was cancelled by user"),
])
def test_failed_and_cancelled_raise_with_athenas_reason(state, reason, aws_env):
    engine, stub = stubbed_engine()
    _start(stub)
    stub.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", _execution(state, reason), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError) as raised:
        engine.execute("SELECT 1")
    assert str(raised.value) == f"Athena query {QID} {state}: {reason}"
    stub.assert_no_pending_responses()


def test_timeout_calls_stop_query_execution(aws_env):
    engine, stub = stubbed_engine(timeout=0.0)
    _start(stub)
    stub.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError, match=f"Athena query {QID} did not finish within 0 s; it was stopped"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_scan_over_per_query_limit_is_stopped(aws_env):
    engine, stub = stubbed_engine(max_bytes_per_query=1024)
    _start(stub)
    stub.add_response("get_query_execution", _execution("RUNNING", scanned=4096), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    with stub, pytest.raises(BudgetExceeded, match="scanned 4,096 bytes, over max_bytes_per_query 1,024"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_ctrl_c_stops_the_query_and_reraises(aws_env):
    engine, stub = stubbed_engine()
    _start(stub)
    stub.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", _execution("CANCELLED", "Query was cancelled by user"),
                      {"QueryExecutionId": QID})
    polls = []

    def interrupt_on_first_poll(**_: Any) -> None:
        polls.append(1)
        if len(polls) == 1:
            raise KeyboardInterrupt

    engine.connection.client.meta.events.register("after-call.athena.GetQueryExecution", interrupt_on_first_poll)
    with stub, pytest.raises(KeyboardInterrupt):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_throttling_is_retried(aws_env):
    engine, stub = stubbed_engine()
    stub.add_client_error("start_query_execution", "ThrottlingException", "Rate exceeded")
    _start(stub)
    stub.add_response("get_query_execution", _execution("FAILED", "boom"), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError, match="FAILED: boom"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()  # the throttled start was retried, then the query ran


def test_result_reuse_is_requested_when_configured(aws_env):
    engine, stub = stubbed_engine(result_reuse_minutes=30)
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, {
        "QueryString": "SELECT 1", "QueryExecutionContext": ANY, "ResultConfiguration": ANY,
        "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 30}}})
    stub.add_response("get_query_execution", _execution("FAILED", "stop here"), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError, match="stop here"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


# --- connection settings and fragments --------------------------------------------------------

def test_fragments_are_local_text_with_the_athena_table(aws_env):
    from trailbook.engines.local import LocalEngine

    engine = AthenaEngine(connection=object(), accounts=["111122223333"], regions=["eu-west-1"],
                          catalog="awsdatacatalog", database="security", table="ct_logs")
    start = dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc)
    end = dt.datetime(2026, 10, 29, tzinfo=dt.timezone.utc)
    local = LocalEngine(connection=__import__("duckdb").connect(), accounts=["111122223333"], regions=["eu-west-1"])
    assert engine.fragments(start, end) == {**local.fragments(start, end),
                                            "source": '"awsdatacatalog"."security"."ct_logs"'}


def test_lake_federation_layout_reshapes_the_federated_table(aws_env):
    engine = AthenaEngine(connection=object(), database="aws:cloudtrail",
                          table="0f2d4c1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f", layout="lake")
    frag = engine.fragments(dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc),
                            dt.datetime(2026, 10, 29, tzinfo=dt.timezone.utc))
    federated = '"awsdatacatalog"."aws:cloudtrail"."0f2d4c1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"'
    assert f"FROM {federated} WHERE eventtime >=" in frag["source"]
    assert "AS useridentity" in frag["source"]


@pytest.mark.parametrize("options,message", [
    ({"database": 'x"; DROP TABLE y'}, "database"),
    ({"table": "a b"}, "table"),
    ({"catalog": "cat'alog"}, "catalog"),
    ({"layout": "parquet"}, "layout"),
    ({"s3_staging_dir": "/tmp/results"}, "s3://"),
])
def test_bad_settings_are_refused(options, message, aws_env):
    from trailbook.errors import UsageError

    with pytest.raises(UsageError, match=message):
        AthenaEngine(connection=object(), **options)


def test_settings_from_environment_and_file(tmp_path, monkeypatch, aws_env):
    monkeypatch.setenv("TRAILBOOK_ATHENA_WORK_GROUP", "from-env")
    monkeypatch.setenv("TRAILBOOK_ATHENA_DATABASE", "env_db")
    config = tmp_path / "cfg.yml"
    config.write_text("athena:\n  database: file_db\n  result_reuse_minutes: 15\n")
    monkeypatch.setenv("TRAILBOOK_CONFIG", str(config))
    settings = C.resolve("athena", {"table": "kw_table"})
    assert (settings["work_group"], settings["database"], settings["table"]) == ("from-env", "file_db", "kw_table")
    assert settings["result_reuse_minutes"] == 15 and settings["region"] == "us-east-1"


NO_OUTPUT = ("No output location provided. An output location is required either through the Workgroup result "
             "configuration setting or as an API input.")


def test_engine_starts_without_a_result_location_and_athena_says_what_to_set(aws_env, monkeypatch):
    """No s3_staging_dir and no work_group: the query goes to the primary workgroup (whose output
    location may be enough); if Athena says there is none, one line says what to set."""
    for key in ("TRAILBOOK_ATHENA_S3_STAGING_DIR", "TRAILBOOK_ATHENA_WORK_GROUP"):
        monkeypatch.delenv(key, raising=False)
    engine = AthenaEngine(session=boto3.Session(region_name="us-east-1"), region="us-east-1", retry_attempts=1)
    stub = Stubber(engine.connection.client)
    stub.add_client_error("start_query_execution", "InvalidRequestException", NO_OUTPUT,
                          expected_params={"QueryString": "SELECT 1", "QueryExecutionContext": ANY,
                                           "WorkGroup": "primary"})
    with stub, pytest.raises(EngineError) as raised:
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()
    message = str(raised.value)
    assert "\n" not in message and "s3_staging_dir" in message and "work_group" in message
    assert message.startswith("Athena has no query result location in workgroup 'primary'")
    assert getattr(raised.value, "bytes_scanned", None) == 0


def test_injected_account_partition_without_accounts_says_what_to_set(aws_env):
    engine, stub = stubbed_engine()
    _start(stub)
    reason = ("CONSTRAINT_VIOLATION: For the injected projected partition column account_partition, the WHERE "
              "clause must contain only static equality conditions, and at least one such condition must be present.")
    stub.add_response("get_query_execution", _execution("FAILED", reason), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError, match=r"^the table projects account_partition as injected.*accounts"):
        engine.execute("SELECT 1")


# --- what a query that ends without a result costs ---------------------------------------------

def test_a_stopped_query_carries_the_bytes_athena_billed(aws_env):
    engine, stub = stubbed_engine(timeout=0.0)
    _start(stub)
    stub.add_response("get_query_execution", _execution("RUNNING", scanned=4096), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", _execution("CANCELLED", "stopped", scanned=9000),
                      {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError, match="did not finish") as raised:
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()
    assert raised.value.bytes_scanned == 9000  # the final statistics, read after the stop


def test_an_over_limit_query_carries_its_bytes(aws_env):
    engine, stub = stubbed_engine(max_bytes_per_query=1024)
    _start(stub)
    stub.add_response("get_query_execution", _execution("RUNNING", scanned=4096), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    stub.add_client_error("get_query_execution", "InternalServerException", "try later")
    with stub, pytest.raises(BudgetExceeded) as raised:
        engine.execute("SELECT 1")
    assert raised.value.bytes_scanned == 4096  # the last statistics seen while polling


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED"])
def test_failed_and_cancelled_queries_carry_their_bytes(state, aws_env):
    engine, stub = stubbed_engine()
    _start(stub)
    stub.add_response("get_query_execution", _execution(state, "boom", scanned=123_456), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError) as raised:
        engine.execute("SELECT 1")
    assert raised.value.bytes_scanned == 123_456


class _FinishedCursor:
    """What pyathena's cursor reports after SUCCEEDED (only the attributes `_stats` reads)."""

    def __init__(self, scanned: int, reused: bool | None) -> None:
        self.data_scanned_in_bytes, self.reused_previous_result = scanned, reused
        self.query_id, self.engine_execution_time_in_millis, self.query_queue_time_in_millis = QID, 5, 1
        self.total_execution_time_in_millis = 6

    def close(self) -> None:
        pass


def test_a_reused_result_costs_nothing_and_a_small_scan_the_minimum(aws_env):
    engine = AthenaEngine(connection=object())
    reused = engine._stats(_FinishedCursor(scanned=5 * 1024**2, reused=True))
    assert (reused.bytes_scanned, reused.cost_usd, reused.extra["reused_previous_result"]) == (0, 0.0, True)
    fresh = engine._stats(_FinishedCursor(scanned=1024, reused=False))
    # Athena bills at least 10 MB: 10 MiB / 1 TiB * $5 = $0.0000476..., rounded to 6 places.
    assert (fresh.bytes_scanned, fresh.cost_usd) == (1024, 0.000048)


# --- the DDL -----------------------------------------------------------------------------------

def test_ddl_columns_are_the_schema_and_projection_covers_both_layouts():
    text = ddl.cloudtrail_table_ddl("my-trail-bucket", "logs/", "cloudtrail", "security",
                                    ["111122223333", "444455556666"], ["us-east-1", "eu-west-1"],
                                    start_date="2024-01-31")
    body = text.split("(\n", 1)[1].split("\n)\n", 1)[0]
    lines = [line.strip().rstrip(",") for line in body.splitlines()]
    assert [line.split(" ", 1)[0] for line in lines] == schema.COLUMN_NAMES
    assert lines == [f"{n} {schema.athena_type(t)}" for n, t in schema.COLUMNS]
    assert "PARTITIONED BY (account_partition STRING, region_partition STRING, date_partition STRING)" in text
    assert "LOCATION 's3://my-trail-bucket/logs/AWSLogs/'" in text
    assert ("'storage.location.template'='s3://my-trail-bucket/logs/AWSLogs/${account_partition}/CloudTrail/"
            "${region_partition}/${date_partition}'") in text
    assert "'projection.account_partition.values'='111122223333,444455556666'" in text
    assert "'projection.region_partition.values'='us-east-1,eu-west-1'" in text
    assert "'projection.date_partition.range'='2024/01/31,NOW'" in text
    assert "'projection.date_partition.format'='yyyy/MM/dd'" in text
    org = ddl.cloudtrail_table_ddl("my-trail-bucket", "", accounts=["111122223333"], regions=["us-east-1"],
                                   org_id="o-abcdef1234")
    assert "'s3://my-trail-bucket/AWSLogs/o-abcdef1234/${account_partition}/CloudTrail/" in org
    for column in ("tlsdetails", "sessioncredentialfromconsole", "eventcategory"):
        assert f"\n  {column} " in text


@pytest.mark.parametrize("kwargs,message", [
    ({"bucket": "Bad_Bucket"}, "bucket"),
    ({"org_id": "org-1"}, "organization id"),
    ({"accounts": ["12345"]}, "account"),
    ({"regions": ["mars-1"]}, "region"),
    ({"start_date": "31/01/2024"}, "start_date"),
    ({"table": "Bad-Name"}, "table"),
])
def test_ddl_refuses_bad_input(kwargs, message):
    args = {"bucket": "my-trail-bucket", "accounts": ["111122223333"], "regions": ["us-east-1"], **kwargs}
    with pytest.raises(Exception, match=message):
        ddl.cloudtrail_table_ddl(**args)
