"""The Athena engine's opt-in one-scan mode: one CTAS, queries on the copy, DROP, and the copy's objects deleted.

moto runs no SQL, so `AthenaWrites` does in moto what Athena does as the caller (Athena User Guide, CTAS
considerations): a CTAS without external_location writes Parquet under `<result location>/tables/<query
id>/` and registers the table in Glue; DROP TABLE removes the Glue table only and leaves the objects,
which is why the engine deletes them. It writes through moto's backends, not a client, so nothing it
does counts as the library's call.

The read-only oracle (conftest) still checks every call; the opt-in deletion (s3:DeleteObjects) is
taken out of its record only in the tests below that switch one-scan on (`one_scan_writes`).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest

import test_engine_lake
from trailbook import aws
from trailbook.catalog import load_catalog
from trailbook.engines import one_scan as O
from trailbook.engines.athena import AthenaEngine
from trailbook.engines.base import EngineError, QueryStats
from trailbook.session import Session

aws_env = test_engine_lake.aws_env  # the fixture, shared
CATALOG = load_catalog()
ACCOUNT = "123456789012"  # moto's
BUCKET = "trailbook-athena-results"
STAGING = f"s3://{BUCKET}/trailbook/"
START = dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc)
END = dt.datetime(2026, 10, 29, tzinfo=dt.timezone.utc)
GOLDEN = Path(__file__).parent / "golden" / "one_scan" / "athena"
UPDATE = os.environ.get("TRAILBOOK_UPDATE_GOLDEN") == "1"
FIXED_TABLE = "trailbook_scan_" + "0" * 32


class AthenaWrites:
    """Athena's side effects of CTAS and DROP TABLE, in moto; and every library call, in order."""

    def __init__(self, fail_ctas: bool = False, interrupt_ctas: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []  # (service, operation, first two SQL words)
        self.ctas_id: str | None = None
        self.ctas_sql = ""
        self.fail_ctas, self.interrupt_ctas = fail_ctas, interrupt_ctas
        self.fail_ids: set[str] = set()
        self.fail_next_select = False
        self.reuse: list[tuple[str, bool]] = []  # (first two SQL words, result reuse requested)
        self.ctas_bytes = 0  # what the CTAS reports it scanned (0: moto's own statistics)

    def data_key(self) -> str:
        return f"trailbook/tables/{self.ctas_id}/"

    def before(self, params: dict, model: Any, **_: Any) -> None:
        words = " ".join(params.get("QueryString", "").split()[:2])
        self.calls.append((model.service_model.service_name, model.name, words))
        if model.name == "StartQueryExecution":
            self.sql = params["QueryString"]
            reuse = params.get("ResultReuseConfiguration", {}).get("ResultReuseByAgeConfiguration", {})
            self.reuse.append((" ".join(self.sql.split()[:2]), bool(reuse.get("Enabled"))))
            if not self.sql.startswith(("CREATE TABLE", "DROP TABLE")):  # a detection: no finding
                from moto.athena.models import athena_backends

                from test_engine_athena import moto_results
                from trailbook.contract import FINDING_COLUMNS

                empty = moto_results(pd.DataFrame({c: [] for c in FINDING_COLUMNS}))
                athena_backends[ACCOUNT]["us-east-1"].query_results_queue.append(empty)

    def started(self, parsed: dict, **_: Any) -> None:
        from moto.glue.models import glue_backends
        from moto.s3.models import s3_backends

        qid, sql = parsed["QueryExecutionId"], self.sql
        s3 = s3_backends[ACCOUNT]["aws"]
        glue = glue_backends[ACCOUNT]["us-east-1"]
        if sql.startswith("CREATE TABLE"):
            self.ctas_id, self.ctas_sql = qid, sql
            database, table = sql.split()[2].split(".")
            for n in range(2):  # Parquet parts, one per partition folder (Hive escapes '/' as %2F), written
                # whether the CTAS then succeeds or not
                s3.put_object(bucket_name=BUCKET, key_name=f"{self.data_key()}date_partition=2026%2F10%2F2{n}/"
                              f"part-{n}.parquet", value=b"PAR1")
            s3.put_object(bucket_name=BUCKET, key_name=f"trailbook/tables/{qid}-manifest.csv", value=b"x")
            if self.fail_ctas:
                self.fail_ids.add(qid)
            else:
                glue.create_table(database, table, {"Name": table, "StorageDescriptor": {
                    "Location": f"s3://{BUCKET}/trailbook/tables/{qid}"}})
        elif sql.startswith("DROP TABLE"):
            database, table = sql.split()[4].replace("`", "").split(".")
            if table in glue.databases[database].tables:
                glue.delete_table(database, table)
        elif self.fail_next_select and sql.startswith("WITH"):
            self.fail_ids.add(qid)
            self.fail_next_select = False

    def polled(self, parsed: dict, **_: Any) -> None:
        execution = parsed.get("QueryExecution", {})
        qid = execution.get("QueryExecutionId")
        if qid == self.ctas_id:
            execution.setdefault("Statistics", {})["DataManifestLocation"] = (
                f"s3://{BUCKET}/trailbook/tables/{qid}-manifest.csv")
            if self.ctas_bytes:
                execution["Statistics"]["DataScannedInBytes"] = self.ctas_bytes
            if self.interrupt_ctas:
                self.interrupt_ctas = False
                raise KeyboardInterrupt
        if qid in self.fail_ids:
            execution["Status"] = {"State": "FAILED", "StateChangeReason": "HIVE_CURSOR_ERROR: boom"}

    def __call__(self, session: Any, role: str) -> None:
        session.events.register("before-parameter-build", self.before)
        session.events.register("after-call.athena.StartQueryExecution", self.started)
        session.events.register("after-call.athena.GetQueryExecution", self.polled)


@pytest.fixture
def moto_aws(aws_env):
    from moto import mock_aws
    from moto.moto_api import state_manager

    with mock_aws():
        state_manager.set_transition("athena::execution", {"progression": "immediate"})
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        boto3.client("glue", region_name="us-east-1").create_database(DatabaseInput={"Name": "security"})
        yield
        state_manager.unset_transition("athena::execution")


@pytest.fixture
def one_scan_writes(aws_calls_are_read_only):
    """One-scan's deletion of its own CTAS output is the opt-in write these tests exercise: it is taken
    out of the read-only oracle's record here, and only here; every other call is still checked."""
    calls = aws_calls_are_read_only
    before = len(calls)
    yield
    kept = [call for call in calls[before:] if call != ("s3", "DeleteObjects")]
    del calls[before:]
    calls.extend(kept)


def engine_with(fake: AthenaWrites, **options: Any) -> AthenaEngine:
    aws.add_session_hook(fake)
    try:
        return AthenaEngine(region="us-east-1", s3_staging_dir=STAGING, database="security", poll_interval=0.01,
                            accounts=["111122223333"], **options)
    finally:
        aws.remove_session_hook(fake)


def keys(prefix: str = "trailbook/") -> list[str]:
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents") or [])


def glue_tables() -> list[str]:
    return [t["Name"] for t in boto3.client("glue", region_name="us-east-1").get_tables(
        DatabaseName="security")["TableList"]]


def plant_neighbour() -> str:
    """Another query's CTAS output under the same tables/ folder: never touched."""
    key = "trailbook/tables/5d2c0e1f-0000-4000-8000-000000000000/part-0.parquet"
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key=key, Body=b"PAR1")
    return key


def starts(fake: AthenaWrites) -> list[str]:
    return [words for service, op, words in fake.calls if op == "StartQueryExecution"]


def assert_cleaned(fake: AthenaWrites, neighbour: str) -> None:
    assert fake.ctas_id is not None
    left = keys(f"trailbook/tables/{fake.ctas_id}")
    assert left == [], f"the CTAS's objects are still there: {left}"
    assert glue_tables() == []
    assert neighbour in keys()  # only the CTAS's own folder was deleted
    # The objects are deleted after the DROP TABLE, never before (the table would point at nothing).
    drop = next(i for i, (_, op, words) in enumerate(fake.calls) if op == "StartQueryExecution"
                and words.startswith("DROP"))
    deletions = [i for i, (_, op, _) in enumerate(fake.calls) if op == "DeleteObjects"]
    assert deletions and min(deletions) > drop


# --- the order of calls, and what is left -------------------------------------------------------

def test_one_scan_runs_ctas_then_queries_on_the_copy_then_drops_and_deletes(moto_aws, one_scan_writes):
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    session = Session(engine, start=START, end=END, catalog=CATALOG)
    with engine.shared_scan(START, END, ["eventtime", "eventname", "useridentity"]):
        session.run("root_activity")
        session.run("cloudtrail_logging_disabled")
        inside = engine.fragments(START + dt.timedelta(days=1), END)
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "WITH", "WITH", "DROP"]
    table = engine.scans[0]["table"].split(".")[1]
    assert table.startswith("trailbook_scan_") and len(table) == len("trailbook_scan_") + 32
    # The queries read the copy, with the table's own day predicate (the copy is partitioned by it, so
    # it prunes the copy's days), the exact window and the scope.
    for run in session.evidence:
        assert (f'FROM "awsdatacatalog"."security"."{table}" WHERE date_partition BETWEEN \'2026/10/22\' '
                "AND '2026/10/29' AND eventtime >= ") in run.sql
        assert "account_partition IN ('111122223333')" in run.sql
    assert inside["source"] == f'"awsdatacatalog"."security"."{table}"'
    assert_cleaned(fake, neighbour)
    ops = [(s, o) for s, o, _ in fake.calls]
    # After the DROP: where the data is (Glue before the DROP; the CTAS's execution), then the deletion.
    assert ops.index(("glue", "GetTable")) < len(ops) - ops[::-1].index(("s3", "DeleteObjects"))
    assert keys(f"trailbook/tables/{fake.ctas_id}-manifest.csv") == []
    record = engine.scans[0]
    assert record["deleted_objects"] == 3 and record["problems"] == []
    assert record["ctas"]["execution_id"] == fake.ctas_id and record["drop"] is not None
    # Outside the scan, the engine reads the table again.
    assert engine.fragments(START, END)["source"] == '"awsdatacatalog"."security"."cloudtrail"'
    assert engine.describe()["one_scan"] is True


def test_a_window_outside_the_copy_reads_the_table(moto_aws, one_scan_writes):
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True)
    with engine.shared_scan(START, END):
        wider = engine.fragments(START - dt.timedelta(days=14), END)
        later = engine.fragments(START, END + dt.timedelta(hours=1))
    assert wider["source"] == later["source"] == '"awsdatacatalog"."security"."cloudtrail"'
    assert "date_partition BETWEEN '2026/10/08' AND '2026/10/29'" in wider["time_filter"]


def test_a_failing_query_inside_still_drops_and_deletes(moto_aws, one_scan_writes):
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    session = Session(engine, start=START, end=END, catalog=CATALOG)
    with pytest.raises(EngineError, match="HIVE_CURSOR_ERROR: boom"), engine.shared_scan(START, END):
        fake.fail_next_select = True
        session.run("root_activity")
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "WITH", "DROP"]
    assert_cleaned(fake, neighbour)


def test_ctrl_c_inside_still_drops_and_deletes(moto_aws, one_scan_writes):
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    with pytest.raises(KeyboardInterrupt), engine.shared_scan(START, END):
        raise KeyboardInterrupt
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "DROP"]
    assert_cleaned(fake, neighbour)


def test_ctrl_c_during_the_ctas_stops_it_then_drops_and_deletes(moto_aws, one_scan_writes):
    fake = AthenaWrites(interrupt_ctas=True)
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    body = []
    with pytest.raises(KeyboardInterrupt), engine.shared_scan(START, END):
        body.append("ran")
    assert body == []  # the copy never opened
    ops = [(s, o) for s, o, _ in fake.calls]
    assert ("athena", "StopQueryExecution") in ops
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "DROP"]
    assert_cleaned(fake, neighbour)


def test_a_failed_ctas_leaves_no_partial_objects(moto_aws, one_scan_writes):
    """A failed CTAS makes no table but may leave objects ("orphaned files", Athena User Guide): they are
    found beside the CTAS's own output location (tables/<query id>/) and deleted."""
    fake = AthenaWrites(fail_ctas=True)
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    with pytest.raises(EngineError, match="boom"), engine.shared_scan(START, END):
        pass
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "DROP"]
    assert_cleaned(fake, neighbour)
    assert engine.scans[0]["problems"] == []


# --- off by default: read-only ------------------------------------------------------------------

def test_without_one_scan_the_hook_does_nothing_and_nothing_writes(moto_aws, aws_calls_are_read_only):
    fake = AthenaWrites()
    engine = engine_with(fake)
    session = Session(engine, start=START, end=END, catalog=CATALOG)
    before = len(aws_calls_are_read_only)
    with engine.shared_scan(START, END, ["eventtime"]):
        session.run("root_activity")
    assert [w.split()[0] for w in starts(fake)] == ["WITH"]
    assert '"awsdatacatalog"."security"."cloudtrail" WHERE date_partition BETWEEN' in session.evidence[0].sql
    assert {s for s, _, _ in fake.calls} <= {"athena", "s3"}
    assert not any(o.startswith(("Delete", "Put", "Create")) for _, o, _ in fake.calls)
    # The independent oracle (conftest) sees the same: nothing but reads and the query's lifecycle.
    import aws_oracle

    assert aws_oracle.violations(aws_calls_are_read_only[before:]) == []
    assert engine.scans == [] and "one_scan" not in engine.describe()


def test_the_default_session_refuses_the_deletion_one_scan_needs(aws_env):
    client = aws.session("athena", region="us-east-1").client("s3")
    with pytest.raises(aws.ReadOnlyViolation, match="refusing s3:DeleteObjects"):
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "x"}]})
    from trailbook.aws.operations import ONE_SCAN_ROLE

    assert aws.allowed(ONE_SCAN_ROLE, "s3", "DeleteObjects") and not aws.allowed("athena", "s3", "DeleteObjects")
    # Even the one-scan role writes nothing else itself (Athena writes the Parquet, as the caller).
    one_scan_client = aws.session(ONE_SCAN_ROLE, region="us-east-1").client("s3")
    with pytest.raises(aws.ReadOnlyViolation, match="refusing s3:PutObject"):
        one_scan_client.put_object(Bucket=BUCKET, Key="x", Body=b"x")
    with pytest.raises(aws.ReadOnlyViolation, match="refusing glue:DeleteTable"):
        aws.session(ONE_SCAN_ROLE, region="us-east-1").client("glue").delete_table(DatabaseName="d", Name="t")


@pytest.mark.parametrize("options,message", [
    ({"database": "Security"}, "lower-case"),
    ({"database": "sec-urity"}, "lower-case"),
    ({"layout": "lake", "database": "aws:cloudtrail", "table": "eds"}, "trail layout only"),
])
def test_one_scan_refuses_names_it_cannot_write_bare(options, message, aws_env):
    from trailbook.errors import TrailbookError

    with pytest.raises(TrailbookError, match=message):
        AthenaEngine(connection=object(), one_scan=True, **options)


def test_columns_are_checked_and_the_scope_columns_kept():
    # The copy's time filter reads eventtime and date_partition, and it is bucketed by eventsource, so all
    # three are always in it; date_partition, its partition column, last (CTAS wants partition columns last).
    assert O.columns_for(["eventname", "EVENTTIME"]) == ["eventtime", "eventsource", "eventname", "account_partition",
                                                         "region_partition", "date_partition"]
    assert O.columns_for(["useridentity"]) == ["useridentity", "eventtime", "eventsource", "account_partition",
                                               "region_partition", "date_partition"]
    with pytest.raises(Exception, match="not columns of the CloudTrail table"):
        O.columns_for(["eventname", "x; DROP TABLE y"])
    with pytest.raises(Exception, match="only tables named"):
        O.drop_sql("security", "cloudtrail")


def test_the_copys_layout_stays_within_athenas_100_writers():
    # Athena: at most 100 open writers "for partitions/buckets" in one CTAS; days x buckets <= 100 here,
    # and fewer than 2 buckets is no bucketing.
    assert O.layout(1) == (1, 100)
    assert O.layout(8) == (8, 12)
    assert O.layout(22) == (22, 4)
    assert O.layout(50) == (50, 2)
    assert O.layout(51) == (51, 0)
    assert O.layout(100) == (100, 0)
    assert O.layout(101) is None
    sql = O.ctas_sql("security", FIXED_TABLE, ["eventname"], "t", "x", 0)
    assert "partitioned_by = ARRAY['date_partition'])" in sql and "bucket" not in sql
    for bad in (1, 101, True, -2):
        with pytest.raises(Exception, match="bucket_count must be"):
            O.ctas_sql("security", FIXED_TABLE, ["eventname"], "t", "x", bad)


def test_a_window_of_more_than_100_days_is_not_copied(moto_aws, one_scan_writes, capsys):
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True)
    start = END - dt.timedelta(days=100)  # 100 days, and the late day: 101 partitions
    with engine.shared_scan(start, END):
        inside = engine.fragments(START, END)
    assert starts(fake) == []  # no CTAS, no DROP
    assert inside["source"] == '"awsdatacatalog"."security"."cloudtrail"'
    assert engine.scans[0]["table"] is None and "101 date partitions" in engine.scans[0]["skipped"]
    assert "one-scan skipped: the window spans 101 days" in capsys.readouterr().err


def test_only_the_ctas_own_folder_is_deleted():
    qid = "2c4d9e1a-0b3f-4a5e-8c7d-6f1e2a3b4c5d"
    assert O.owned_prefix(f"s3://b/r/tables/{qid}", qid) == ("b", f"r/tables/{qid}/")
    assert O.owned_prefix("s3://b/r/tables/", qid) is None
    assert O.owned_prefix("s3://b/", qid) is None
    assert O.data_prefix(f"s3://b/r/{qid}.csv", qid) == ("b", f"r/tables/{qid}/")


# --- golden SQL ---------------------------------------------------------------------------------

class _Recording(AthenaEngine):
    """The engine's SQL without AWS: statements are recorded, and Glue has no table."""

    class _NoTable:
        def get_table(self, **_: Any) -> None:
            raise type("EntityNotFoundException", (Exception,), {})("no table")

    def __init__(self, **options: Any) -> None:
        super().__init__(connection=object(), **options)
        self.sent: list[str] = []
        self._clients["glue"] = self._NoTable()

    def _execute(self, sql, columns, state, statement=False):  # type: ignore[override]
        self.sent.append(sql)
        return None, QueryStats()


def test_one_scan_sql_matches_golden(monkeypatch):
    for key in list(os.environ):
        if key.startswith("TRAILBOOK_ATHENA_") or key == "TRAILBOOK_CONFIG":
            monkeypatch.delenv(key)
    monkeypatch.setattr(O, "temp_table_name", lambda: FIXED_TABLE)
    engine = _Recording(one_scan=True, accounts=["111122223333"])
    query = CATALOG["root_activity"]
    from trailbook import schema
    from trailbook.engines.columns import columns_read

    columns = columns_read(query.render(engine, start=START, end=END).sql, schema.COLUMN_NAMES)
    with engine.shared_scan(START, END, columns):
        detection = query.render(engine, start=START, end=END).sql
    texts = {"ctas.sql": engine.sent[0], "root_activity.sql": detection, "drop.sql": engine.sent[1]}
    assert len(engine.sent) == 2
    for name, text in texts.items():
        path = GOLDEN / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
        assert text + "\n" == path.read_text(encoding="utf-8"), f"{name} differs from {path}"
    # Independently of the golden files: the detection is the plain Athena text with the copy as its table
    # (the copy keeps date_partition, so the same predicate prunes its days); the CTAS reads the table
    # exactly as that text did. The week and its late day are 8 partitions, so 100 // 8 = 12 buckets.
    plain = query.render(AthenaEngine(connection=object(), accounts=["111122223333"]), start=START, end=END).sql
    predicate = "date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND "
    assert detection == plain.replace('"awsdatacatalog"."default"."cloudtrail" WHERE ',
                                      f'"awsdatacatalog"."default"."{FIXED_TABLE}" WHERE ')
    assert texts["ctas.sql"].startswith(
        f"CREATE TABLE default.{FIXED_TABLE}\nWITH (format = 'PARQUET', write_compression = 'SNAPPY', "
        "partitioned_by = ARRAY['date_partition'], bucketed_by = ARRAY['eventsource'], bucket_count = 12)\n")
    assert ", account_partition, region_partition, date_partition\nFROM " in texts["ctas.sql"]
    assert texts["ctas.sql"].endswith('FROM "awsdatacatalog"."default"."cloudtrail"\nWHERE ' + predicate
                                      + "eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z'"
                                      " AND account_partition IN ('111122223333')")
    assert texts["drop.sql"] == f"DROP TABLE IF EXISTS `default`.`{FIXED_TABLE}`"


# --- turning it on for a report -----------------------------------------------------------------

def test_report_one_scan_prints_the_permissions_then_runs_with_it_on(monkeypatch, capsys, aws_env, tmp_path):
    from trailbook import reports
    from trailbook.cli import ONE_SCAN_ENV, main
    from trailbook.errors import TrailbookError

    monkeypatch.delenv(ONE_SCAN_ENV, raising=False)
    seen = {}

    def run_report(*args, **kwargs):
        seen["env"] = os.environ.get(ONE_SCAN_ENV)
        seen["one_scan"] = AthenaEngine(connection=object()).one_scan  # what each notebook's engine gets
        raise TrailbookError("stop here")

    monkeypatch.setattr(reports, "run_report", run_report)
    window = ["--start", "2026-10-22T00:00:00Z", "--end", "2026-10-29T00:00:00Z"]
    config = tmp_path / "trailbook.yml"
    config.write_text("athena:\n  region: eu-west-1\n  database: security\n  s3_staging_dir: s3://my-results/tb/\n")
    assert main(["report", "--engine", "athena", *window, "-p", f"config={config}", "--one-scan"]) == 1
    err = capsys.readouterr().err
    assert seen == {"env": "true", "one_scan": True}
    assert err.index("one-scan mode (opt-in) writes") < err.index("stop here")  # printed before it starts
    # The config's database and results bucket, in the permissions printed.
    assert ("glue:BatchCreatePartition, glue:BatchDeletePartition, glue:CreateTable, glue:DeleteTable, "
            "glue:GetPartitions, glue:GetTable on ") in err
    assert "arn:aws:glue:eu-west-1:*:table/security/trailbook_scan_*" in err
    assert "s3:DeleteObject, s3:PutObject on arn:aws:s3:::my-results/*" in err
    assert ONE_SCAN_ENV not in os.environ  # restored after the run
    assert main(["report", "--engine", "athena", *window]) == 1
    assert seen["one_scan"] is False and "one-scan" not in capsys.readouterr().err
    assert main(["report", "--engine", "local", *window, "--one-scan"]) == 2
    assert "--one-scan is for --engine athena" in capsys.readouterr().err


# --- what a query that ends without a result is charged (issue 14's last point) ---------------------

def test_a_failed_querys_bytes_count_against_the_sessions_budget(aws_env):
    """engines/athena.py gives a FAILED, CANCELLED or stopped query's billed bytes to its error
    (test_engine_athena.py); here the Session counts them, so the next query is refused."""

    class Failing(AthenaEngine):
        def _execute(self, sql, columns, state, statement=False):  # type: ignore[override]
            error = EngineError("Athena query q CANCELLED: stopped")
            error.bytes_scanned = 7 * 1024**2  # type: ignore[attr-defined]
            raise error

    session = Session(Failing(connection=object()), start=START, end=END, catalog=CATALOG, byte_budget=5 * 1024**2)
    with pytest.raises(EngineError, match="CANCELLED"):
        session.run("root_activity")
    assert session.bytes_scanned == 7 * 1024**2
    from trailbook.engines.base import BudgetExceeded

    with pytest.raises(BudgetExceeded, match="byte budget of 5,242,880 bytes is spent"):
        session.run("root_activity")


def test_session_detect_runs_its_detections_on_one_copy(moto_aws, one_scan_writes):
    """End to end through Session.detect, which opens the engine's shared scan over the detections'
    widest read window with the columns they name."""
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    session = Session(engine, start=START, end=END, catalog=CATALOG)
    session.detect(["root_activity", "key_new_region"])
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "WITH", "WITH", "DROP"]
    ctas = engine.scans[0]
    # key_new_region's baseline starts 14 days before the window: the copy starts there.
    assert (ctas["start"], ctas["end"]) == ("2026-10-08T00:00:00Z", "2026-10-29T00:00:00Z")
    table = ctas["table"].split(".")[1]
    assert all(f'"awsdatacatalog"."security"."{table}" WHERE date_partition BETWEEN ' in run.sql
               for run in session.evidence)
    # 10/08 to 10/29 (the late day) is 22 partitions: 100 // 22 = 4 buckets keep the CTAS within 100 writers.
    assert "partitioned_by = ARRAY['date_partition'], bucketed_by = ARRAY['eventsource'], bucket_count = 4)" \
        in fake.ctas_sql
    assert_cleaned(fake, neighbour)


def test_the_copys_scan_counts_against_the_runs_byte_budget(moto_aws, one_scan_writes):
    """Athena bills the CTAS for the raw JSON it read: 300 MiB against a 100 MiB budget refuses the first
    detection, and the copy is still dropped and deleted."""
    from trailbook.engines.base import BudgetExceeded

    fake = AthenaWrites()
    fake.ctas_bytes = 300 * 1024**2
    engine = engine_with(fake, one_scan=True)
    neighbour = plant_neighbour()
    session = Session(engine, start=START, end=END, catalog=CATALOG, byte_budget=100 * 1024**2)
    with pytest.raises(BudgetExceeded):
        session.detect(["root_activity", "key_new_region"])
    assert session.bytes_scanned == 300 * 1024**2
    assert [w.split()[0] for w in starts(fake)] == ["CREATE", "DROP"]
    assert_cleaned(fake, neighbour)


def test_result_reuse_is_never_asked_for_the_ctas_or_the_drop(moto_aws, one_scan_writes):
    fake = AthenaWrites()
    engine = engine_with(fake, one_scan=True, result_reuse_minutes=30)
    session = Session(engine, start=START, end=END, catalog=CATALOG)
    with engine.shared_scan(START, END):
        session.run("root_activity")
    assert [(words.split()[0], reused) for words, reused in fake.reuse] == [
        ("CREATE", False), ("WITH", True), ("DROP", False)]
