"""The CloudTrail Lake engine: its SQL reshaping, its API lifecycle, and typing Lake's text.

moto has no CloudTrail Lake, so two stand-ins are used, both answering through botocore's
`before-call` event with responses validated against the botocore model:

- `FakeLakeService` runs the Lake-rendered SQL on DuckDB over a Lake-shaped table (eventtime a
  TIMESTAMP, native string columns, eventjson = the record) built from fixture records, and
  answers StartQuery/DescribeQuery/GetQueryResults with the rows as Lake's text. Comparing its
  findings with the local engine's checks the `source` reshaping end to end on real events.
- `botocore.stub.Stubber` scripts the lifecycle cases: pagination, FAILED, TIMED_OUT,
  CANCELLED, timeout, Ctrl-C, throttling, budget.

`FakeLakeService` is test-only; test_notebook_cloud_engines.py installs it in a kernel.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from trailbook import findings as F
from trailbook import schema
from trailbook.catalog import FINDING_COLUMNS, MAX_EVENT_IDS, load_catalog
from trailbook.engines import settings as C
from trailbook.engines.base import BudgetExceeded, EngineError
from trailbook.engines.converter import parse_text_array, rows_to_frame
from trailbook.engines.lake import MAX_STATEMENT_CHARS, LakeEngine, event_data_store_id
from trailbook.engines.sql import NATIVE_AS_TEXT, NATIVE_COLUMNS
from trailbook.errors import UsageError
from trailbook.session import Session

QUERY_FIXTURES = Path(__file__).parent / "fixtures" / "queries"
EDS_ID = "0f2d4c1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"
EDS_ARN = f"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{EDS_ID}"


def lake_to_duckdb(sql: str) -> str:
    """Lake's SQL on the DuckDB stand-in. Lake names the store bare (FROM <id>), which sqlglot parses
    only when quoted, so the stand-in quotes it first; the stand-in's table has that name."""
    from trailbook.translate import to_duckdb

    return to_duckdb(sql.replace(f"FROM {EDS_ID}", f'FROM "{EDS_ID}"'), tables={})
QUERY_ID = "11111111-2222-3333-4444-555555555555"
CATALOG = load_catalog()


# --- shared helpers (imported by the other cloud-engine tests) -------------------------------

def local_engine(records: Iterable[dict], tmp: Path):
    """The local engine over exactly these records (ingested into a fresh store)."""
    from trailbook import store
    from trailbook.engines.local import LocalEngine

    src = tmp / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "events.json").write_text(json.dumps({"Records": list(records)}), encoding="utf-8")
    store.ingest(src / "events.json", tmp / "store", progress=False)
    return LocalEngine(connection=store.connect(tmp / "store", read_only=True))


def fixture_case(name: str, case: str = "match") -> tuple[list[dict], dict]:
    # The fixture's records and parameters, read as tests/test_queries.py reads them (one reader).
    from test_queries import fixture_params, fixture_records

    return fixture_records(name, case), fixture_params(name, case)


def engine_text(value: Any) -> str | None:
    """A value as Lake/Athena text: arrays in Trino's `[a, b]` form, booleans lower case."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # a numpy scalar
        value = value.item()
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, str):
        items = value.tolist() if hasattr(value, "tolist") else value
        return "[" + ", ".join("" if v is None else str(engine_text(v)) for v in items) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def comparable(frame: pd.DataFrame, columns: dict | None = None) -> list[tuple]:
    """Findings as sorted tuples of the finding columns, for comparing engines.

    Context queries are compared column by column after typing with their declared `columns`
    (the contract every engine's result is read through)."""
    if set(FINDING_COLUMNS) <= set(frame.columns):
        # arbitrary() picks (region, user agent, key id) and the order of same-second eventIDs depend
        # on row order, which differs between engines; everything else must agree exactly.
        normal = F.normalize(frame)
        rows = []
        for f in normal.to_dict("records"):
            ids = tuple(sorted(f["event_ids"])) if f["event_count"] <= MAX_EVENT_IDS else len(f["event_ids"])
            rows.append((f["detection"], f["severity"], f["first_seen"], f["last_seen"], f["account_id"],
                         f["principal_arn"], f["source_ip"], tuple(f["event_names"]), f["event_count"], ids,
                         tuple(f["mitre"])))
    else:  # a context query: every column, typed as declared, as engine text
        from trailbook.engines.converter import type_frame

        typed = type_frame(frame, columns)
        rows = [tuple(engine_text(v) for v in row) for row in typed.itertuples(index=False)]
    return sorted(rows, key=repr)


class FakeLakeService:
    """CloudTrail Lake's query API, answered from DuckDB over a Lake-shaped table of the records."""

    def __init__(self, records: Iterable[dict], eds_id: str = EDS_ID, bytes_per_event: int = 1000) -> None:
        from trailbook.translate import install_macros

        self.eds_id = eds_id
        self.con = duckdb.connect()
        install_macros(self.con)
        native = sorted(NATIVE_COLUMNS)
        cols = ["eventtime TIMESTAMP"] + [f"{c} VARCHAR" for c in native] + \
               ["readonly BOOLEAN", "sessioncredentialfromconsole VARCHAR", "eventjson VARCHAR"]
        self.con.execute(f'CREATE TABLE "{eds_id}" ({", ".join(cols)})')
        rows, seen = [], set()
        for rec in records:
            key = (rec.get("eventID"), rec.get("eventTime"), rec.get("eventName"))
            if key in seen:  # Lake stores an event once, however often a trail delivered it
                continue
            seen.add(key)
            when = dt.datetime.strptime(rec["eventTime"][:19], "%Y-%m-%dT%H:%M:%S")
            read_only = rec.get("readOnly")
            rows.append([when] + [rec.get(schema.CAMEL[c]) for c in native] +
                        [None if read_only is None else str(read_only).lower() == "true",
                         None if rec.get("sessionCredentialFromConsole") is None
                         else str(rec["sessionCredentialFromConsole"]).lower(), json.dumps(rec)])
        if rows:
            names = ["eventtime"] + native + ["readonly", "sessioncredentialfromconsole", "eventjson"]
            frame = pd.DataFrame(rows, columns=names).astype({"readonly": "boolean"})
            self.con.register("fake_lake_rows", frame)
            self.con.execute(f'INSERT INTO "{eds_id}" SELECT * FROM fake_lake_rows')
            self.con.unregister("fake_lake_rows")
        self.events = len(rows)
        self.bytes_per_event = bytes_per_event
        self.queries: dict[str, dict] = {}
        self.calls: list[str] = []
        self.statements: list[str] = []

    def run(self, sql: str) -> list[list[dict[str, str]]]:
        cursor = self.con.execute(lake_to_duckdb(sql))
        names = [d[0] for d in cursor.description]
        return [[{n: engine_text(v)} for n, v in zip(names, row, strict=True) if v is not None]
                for row in cursor.fetchall()]

    def answer(self, operation: str, params: dict) -> dict:
        if operation == "StartQuery":
            query_id = str(uuid.uuid4())
            self.statements.append(params["QueryStatement"])
            self.queries[query_id] = {"rows": self.run(params["QueryStatement"])}
            return {"QueryId": query_id}
        rows = self.queries[params["QueryId"]]["rows"]
        if operation == "DescribeQuery":
            return {"QueryId": params["QueryId"], "QueryStatus": "FINISHED",
                    "QueryStatistics": {"EventsMatched": len(rows), "EventsScanned": self.events,
                                        "BytesScanned": self.events * self.bytes_per_event,
                                        "ExecutionTimeInMillis": 42}}
        if operation == "GetQueryResults":
            start = int(params.get("NextToken", "tok-0")[4:])
            size = params.get("MaxQueryResults", 1000)
            page = {"QueryStatus": "FINISHED", "QueryResultRows": rows[start:start + size],
                    "QueryStatistics": {"ResultsCount": len(rows[start:start + size]), "TotalResultsCount": len(rows)}}
            if start + size < len(rows):
                page["NextToken"] = f"tok-{start + size}"
            return page
        if operation == "CancelQuery":
            return {"QueryId": params["QueryId"], "QueryStatus": "CANCELLED"}
        raise AssertionError(f"FakeLakeService does not answer {operation}")

    @staticmethod
    def remember_params(params: dict, context: dict, **_: Any) -> None:
        context["fake_api_params"] = dict(params)  # before-call only sees the serialised request

    def handler(self, model: Any, context: dict, **_: Any):
        self.calls.append(model.name)
        parsed = self.answer(model.name, context["fake_api_params"])
        validate_parameters(parsed, model.output_shape)  # the response is one real Lake could send
        return AWSResponse(None, 200, {}, None), parsed

    def install(self, events: Any) -> None:
        """Answer every Lake query call made through `events` (a client's or a boto3 session's)."""
        for op in ("StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery"):
            events.register(f"before-parameter-build.cloudtrail.{op}", self.remember_params)
            events.register(f"before-call.cloudtrail.{op}", self.handler)


@pytest.fixture
def aws_env(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "TRAILBOOK_CONFIG", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)


def lake_client():
    return boto3.Session(region_name="us-east-1").client("cloudtrail")


def engine_with_stub(**options):
    client = lake_client()
    stub = Stubber(client)
    naps: list[float] = []
    engine = LakeEngine(client=client, event_data_store=EDS_ARN, sleep=naps.append, **options)
    return engine, stub, naps


# --- the reshaped source on real events ------------------------------------------------------

LAKE_QUERIES = sorted(n for n, q in CATALOG.items()
                      if "lake" in q.engines and (QUERY_FIXTURES / n / "match.json").exists())


@pytest.mark.parametrize("name", LAKE_QUERIES)
def test_lake_rendering_finds_what_local_finds(name, tmp_path, aws_env):
    records, params = fixture_case(name)
    start, end = params.pop("start"), params.pop("end")
    local = Session(local_engine(records, tmp_path), start=start, end=end, catalog=CATALOG)
    expected = local.run(name, **params)
    service = FakeLakeService(records)
    client = lake_client()
    service.install(client.meta.events)
    lake = Session(LakeEngine(client=client, event_data_store=EDS_ID, max_results=2), start=start, end=end,
                   catalog=CATALOG)
    got = lake.run(name, **params)
    assert len(expected) > 0
    declared = dict(CATALOG[name].columns)
    assert comparable(got, declared) == comparable(expected, declared)
    assert service.calls[0] == "StartQuery" and service.calls[1] == "DescribeQuery"
    assert service.calls.count("GetQueryResults") == max(1, -(-len(expected) // 2))  # pages of 2
    run = lake.evidence[-1]
    assert run.stats["execution_id"] == next(iter(service.queries))
    assert run.stats["events_scanned"] == service.events
    assert run.stats["bytes_scanned"] == service.events * 1000
    assert run.sql == service.statements[0] and f"FROM {EDS_ID} " in run.sql  # bare, as Lake's docs write it


def test_reshaped_columns_match_local_store(tmp_path, aws_env):
    records, params = fixture_case("root_activity")
    engine = LakeEngine(client=lake_client(), event_data_store=EDS_ID)
    start, end = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
    columns = schema.COLUMN_NAMES + schema.PARTITION_NAMES
    select = ", ".join(columns)
    frag = engine.fragments(start, end)
    service = FakeLakeService(records)
    lake_rows = service.con.execute(lake_to_duckdb(
        f"SELECT {select} FROM {frag['source']} WHERE {frag['time_filter']} ORDER BY eventid")).fetchall()
    local = local_engine(records, tmp_path)
    local_rows = local.con.execute(f"SELECT {select} FROM cloudtrail ORDER BY eventid").fetchall()
    assert len(lake_rows) == len(local_rows) == service.events
    for lake_row, local_row in zip(lake_rows, local_rows, strict=True):
        for column, a, b in zip(columns, lake_row, local_row, strict=True):
            if column in schema.JSON_COLUMNS and a is not None and b is not None:
                a, b = json.loads(a), json.loads(b)
            assert a == b, f"{column}: lake {a!r} != local {b!r}"


def test_every_schema_column_is_reshaped():
    from trailbook.engines.sql import reshaped_columns

    names = [c.rsplit(" AS ", 1)[-1] if " AS " in c else c for c in reshaped_columns()]
    assert names == schema.COLUMN_NAMES + schema.PARTITION_NAMES
    assert NATIVE_COLUMNS | NATIVE_AS_TEXT <= set(schema.COLUMN_NAMES)


# --- the API lifecycle, scripted with Stubber -------------------------------------------------

def _finding_row(i: int) -> list[dict[str, str]]:
    return [{"detection": "root_activity"}, {"severity": "high"}, {"first_seen": f"2026-10-22T0{i}:00:00Z"},
            {"last_seen": f"2026-10-22T0{i}:30:00Z"}, {"account_id": "111122223333"}, {"region": "us-east-1"},
            {"principal_arn": "arn:aws:iam::111122223333:root"}, {"source_ip": "203.0.113.7"},
            {"user_agent": "Mozilla/5.0"}, {"event_names": "[ConsoleLogin, GetCallerIdentity]"},
            {"event_count": str(10 + i)}, {"event_ids": f"[id-{i}a, id-{i}b]"}, {"mitre": "[T1078.004]"}]


FINDINGS_SQL = f"SELECT {', '.join(FINDING_COLUMNS)} FROM findings"


def test_pagination_typing_and_statistics(aws_env):
    engine, stub, naps = engine_with_stub(max_results=2)
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": FINDINGS_SQL})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "QUEUED"}, {"QueryId": QUERY_ID})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "RUNNING",
                                         "QueryStatistics": {"BytesScanned": 10}}, {"QueryId": QUERY_ID})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "FINISHED", "QueryStatistics": {
        "EventsMatched": 5, "EventsScanned": 9000, "BytesScanned": 2 * 1024**3, "ExecutionTimeInMillis": 1234}},
        {"QueryId": QUERY_ID})
    pages = [[_finding_row(1), _finding_row(2)], [_finding_row(3), _finding_row(4)], [_finding_row(5)]]
    for i, page in enumerate(pages):
        expected = {"QueryId": QUERY_ID, "MaxQueryResults": 2, **({"NextToken": f"token-{i}"} if i else {})}
        response = {"QueryStatus": "FINISHED", "QueryResultRows": page,
                    **({"NextToken": f"token-{i + 1}"} if i < len(pages) - 1 else {})}
        stub.add_response("get_query_results", response, expected)
    with stub:
        frame, stats = engine.execute(FINDINGS_SQL)
    stub.assert_no_pending_responses()
    assert list(frame.columns) == list(FINDING_COLUMNS)
    assert len(frame) == 5
    assert list(frame["event_count"]) == [11, 12, 13, 14, 15]
    assert frame["event_names"][0] == ["ConsoleLogin", "GetCallerIdentity"]
    assert frame["event_ids"][4] == ["id-5a", "id-5b"]
    assert frame["mitre"][2] == ["T1078.004"]
    assert frame["access_key_id"].isna().all()  # absent from every row: NULL
    assert stats.execution_id == QUERY_ID and stats.bytes_scanned == 2 * 1024**3
    assert stats.events_scanned == 9000 and stats.engine_ms == 1234
    assert stats.extra["events_matched"] == 5 and stats.extra["event_data_store"] == EDS_ID
    assert stats.cost_usd == pytest.approx(0.01)  # 2 GB at $0.005/GB
    assert len(naps) == 2 and naps[1] > naps[0]  # backed off between status checks


@pytest.mark.parametrize("status,message", [("FAILED", "Query syntax error at line 1"),
                                            ("TIMED_OUT", "Query exceeded the time limit"),
                                            ("CANCELLED", "Query was cancelled by user")])
def test_unsuccessful_query_raises_with_lake_reason(status, message, aws_env):
    engine, stub, _ = engine_with_stub()
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": status, "ErrorMessage": message},
                      {"QueryId": QUERY_ID})
    with stub, pytest.raises(EngineError) as raised:
        engine.execute("SELECT 1")
    assert str(raised.value) == f"Lake query {QUERY_ID} {status}: {message}"
    stub.assert_no_pending_responses()


def test_timeout_cancels_the_query(aws_env):
    engine, stub, _ = engine_with_stub(timeout=0.0)
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "RUNNING"}, {"QueryId": QUERY_ID})
    stub.add_response("cancel_query", {"QueryId": QUERY_ID, "QueryStatus": "CANCELLED"}, {"QueryId": QUERY_ID})
    with stub, pytest.raises(EngineError, match="did not finish within 0 s; it was cancelled"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_ctrl_c_cancels_the_query_and_reraises(aws_env):
    client = lake_client()
    stub = Stubber(client)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    engine = LakeEngine(client=client, event_data_store=EDS_ID, sleep=interrupt)
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "RUNNING"}, {"QueryId": QUERY_ID})
    stub.add_response("cancel_query", {"QueryId": QUERY_ID, "QueryStatus": "CANCELLED"}, {"QueryId": QUERY_ID})
    with stub, pytest.raises(KeyboardInterrupt):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_scan_over_the_per_query_limit_is_cancelled(aws_env):
    engine, stub, _ = engine_with_stub(max_bytes_per_query=1000)
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "RUNNING",
                                         "QueryStatistics": {"BytesScanned": 5000}}, {"QueryId": QUERY_ID})
    stub.add_response("cancel_query", {"QueryId": QUERY_ID, "QueryStatus": "CANCELLED"}, {"QueryId": QUERY_ID})
    with stub, pytest.raises(BudgetExceeded, match="scanned 5,000 bytes, over max_bytes_per_query 1,000"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_throttled_calls_are_retried(aws_env):
    engine, stub, naps = engine_with_stub()
    stub.add_client_error("start_query", "ThrottlingException", "Rate exceeded")
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_client_error("describe_query", "ThrottlingException", "Rate exceeded")
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "FINISHED"}, {"QueryId": QUERY_ID})
    stub.add_response("get_query_results", {"QueryStatus": "FINISHED", "QueryResultRows": [[{"n": "3"}]]},
                      {"QueryId": QUERY_ID, "MaxQueryResults": 1000})
    with stub:
        frame, _ = engine.execute("SELECT 1", columns={"n": "int"})
    assert frame["n"].tolist() == [3]
    assert len(naps) == 2  # one backoff per throttled call


def test_other_errors_are_not_retried(aws_env):
    engine, stub, _ = engine_with_stub()
    stub.add_client_error("start_query", "InvalidQueryStatementException", "Only SELECT statements are allowed")
    with stub, pytest.raises(Exception, match="Only SELECT statements are allowed"):
        engine.execute("SELECT 1")
    stub.assert_no_pending_responses()


def test_statement_over_lake_limit_is_refused_before_any_call(aws_env):
    engine, stub, _ = engine_with_stub()
    sql = "SELECT 1 -- " + "x" * MAX_STATEMENT_CHARS
    with stub, pytest.raises(EngineError, match=f"{len(sql):,} characters .* at most 10,000"):
        engine.execute(sql)
    stub.assert_no_pending_responses()


def test_session_refuses_a_query_not_expressible_on_lake(aws_env):
    from dataclasses import replace

    base = CATALOG["root_activity"]
    local_only = replace(base, engines=("local", "athena"), notes={"lake": "needs UNNEST of resources"})
    engine = LakeEngine(client=lake_client(), event_data_store=EDS_ID)
    session = Session(engine, start="2026-10-22", end="2026-10-29", catalog={"root_activity": local_only})
    with pytest.raises(EngineError, match="root_activity does not run on lake: needs UNNEST of resources"):
        session.run("root_activity")


# --- typing and settings ----------------------------------------------------------------------

def test_declared_columns_type_lake_text():
    rows = [[{"eventtime": "2026-10-22 06:00:00.000"}, {"n": "7"}, {"ratio": "0.25"}, {"ok": "true"},
             {"ips": '["198.51.100.1", "198.51.100.2"]'}, {"counts": "[1, 2]"}],
            [{"n": "8"}, {"ok": "false"}, {"ips": "[]"}]]
    frame = rows_to_frame(rows, {"eventtime": "timestamp", "n": "int", "ratio": "float", "ok": "bool",
                                 "ips": "list[string]", "counts": "array(bigint)"})
    assert frame["n"].tolist() == [7, 8]
    assert frame["ratio"][0] == 0.25 and frame["ratio"][1] is None
    assert frame["ok"].tolist() == [True, False]
    assert frame["ips"].tolist() == [["198.51.100.1", "198.51.100.2"], []]
    assert frame["counts"][0] == [1, 2]
    assert frame["eventtime"][0] == pd.Timestamp("2026-10-22 06:00:00", tz="UTC")
    assert frame["eventtime"][1] is None


def test_empty_result_keeps_declared_columns():
    frame = rows_to_frame([], {"eventtime": "string", "n": "int"})
    assert list(frame.columns) == ["eventtime", "n"] and frame.empty


def test_bad_text_for_a_declared_type_is_a_clear_error():
    with pytest.raises(EngineError, match="column 'n' is declared int"):
        rows_to_frame([[{"n": "seven"}]], {"n": "int"})
    with pytest.raises(EngineError, match="unknown declared column type 'decimal128'"):
        rows_to_frame([[{"n": "1"}]], {"n": "decimal128"})


def test_parse_text_array_forms():
    assert parse_text_array("[a, b, c]") == ["a", "b", "c"]
    assert parse_text_array('["a, b", "c"]') == ["a, b", "c"]
    assert parse_text_array("[]") == []
    with pytest.raises(EngineError):
        parse_text_array("a, b")


def test_event_data_store_from_id_or_arn():
    assert event_data_store_id(EDS_ARN) == EDS_ID
    assert event_data_store_id(EDS_ID) == EDS_ID
    with pytest.raises(EngineError):
        event_data_store_id('x" UNION SELECT')


def test_settings_precedence_env_file_kwargs(tmp_path, monkeypatch, aws_env):
    monkeypatch.setenv("TRAILBOOK_LAKE_EVENT_DATA_STORE", "env-store-0001")
    monkeypatch.setenv("TRAILBOOK_LAKE_MAX_RESULTS", "50")
    assert C.resolve("lake", {})["event_data_store"] == "env-store-0001"
    config = tmp_path / "trailbook.yml"
    config.write_text("lake:\n  event_data_store: file-store-0002\n  timeout: 60\n")
    settings = C.resolve("lake", {"config_file": str(config)})
    assert settings["event_data_store"] == "file-store-0002" and settings["timeout"] == 60.0
    assert settings["max_results"] == 50
    settings = C.resolve("lake", {"config_file": str(config), "event_data_store": EDS_ID})
    assert settings["event_data_store"] == EDS_ID
    with pytest.raises(UsageError, match=r"unknown lake setting\(s\) \['eds'\]"):
        C.resolve("lake", {"eds": EDS_ID})


def test_missing_event_data_store_is_a_clear_error(aws_env, monkeypatch):
    monkeypatch.delenv("TRAILBOOK_LAKE_EVENT_DATA_STORE", raising=False)
    with pytest.raises(EngineError, match="needs event_data_store"):
        LakeEngine(client=lake_client())


def test_the_registry_builds_lake_from_options(aws_env):
    from trailbook import engines

    engine = engines.create("lake", accounts=["111122223333"], regions=["us-east-1"], event_data_store=EDS_ARN,
                         region="us-east-1")
    assert engine.describe() == {"engine": "lake", "event_data_store": EDS_ID, "region": "us-east-1",
                                 "accounts": ["111122223333"], "regions": ["us-east-1"]}
    frag = engine.fragments(dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc),
                            dt.datetime(2026, 10, 29, tzinfo=dt.timezone.utc))
    window = "eventtime >= TIMESTAMP '2026-10-22 00:00:00' AND eventtime < TIMESTAMP '2026-10-29 00:00:00'"
    assert window in frag["source"]
    scope = "AND account_partition IN ('111122223333') AND region_partition IN ('us-east-1')"
    assert frag["time_filter"].endswith(scope)


def test_map_values_are_read_without_a_failing_cast():
    """Trino's CAST(JSON AS MAP(VARCHAR,VARCHAR)) fails the query on an object or array value; every
    map in the reshape must be a TRY_CAST (NULL for that row only)."""
    import sqlglot

    source = LakeEngine(client=object(), event_data_store=EDS_ID).fragments(
        dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc), dt.datetime(2026, 10, 29, tzinfo=dt.timezone.utc))["source"]
    tree = sqlglot.parse_one(f"SELECT * FROM {source}".replace(f"FROM {EDS_ID}", f'FROM "{EDS_ID}"'), read="trino")
    to_map = [c for c in tree.find_all(sqlglot.exp.Cast) if c.to.is_type(sqlglot.exp.DType.MAP)]
    assert to_map, "the schema has a map column (webIdFederationData.attributes)"
    assert all(isinstance(c, sqlglot.exp.TryCast) for c in to_map), [c.sql("trino") for c in to_map]



# --- what a query that ends without a result costs ---------------------------------------------

@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "CANCELLED"])
def test_unsuccessful_queries_carry_the_bytes_lake_billed(status, aws_env):
    engine, stub, _ = engine_with_stub()
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": status, "ErrorMessage": "boom",
                                         "QueryStatistics": {"BytesScanned": 777}}, {"QueryId": QUERY_ID})
    with stub, pytest.raises(EngineError) as raised:
        engine.execute("SELECT 1")
    assert raised.value.bytes_scanned == 777


@pytest.mark.parametrize("options,error", [({"timeout": 0.0}, EngineError),
                                           ({"max_bytes_per_query": 1000}, BudgetExceeded)])
def test_queries_cancelled_here_carry_their_bytes(options, error, aws_env):
    engine, stub, _ = engine_with_stub(**options)
    stub.add_response("start_query", {"QueryId": QUERY_ID}, {"QueryStatement": "SELECT 1"})
    stub.add_response("describe_query", {"QueryId": QUERY_ID, "QueryStatus": "RUNNING",
                                         "QueryStatistics": {"BytesScanned": 5000}}, {"QueryId": QUERY_ID})
    stub.add_response("cancel_query", {"QueryId": QUERY_ID, "QueryStatus": "CANCELLED"}, {"QueryId": QUERY_ID})
    with stub, pytest.raises(error) as raised:
        engine.execute("SELECT 1")
    assert raised.value.bytes_scanned == 5000
