"""Detections share their work (issue 15): `Session.detect` opens `Engine.shared_scan` over the widest
window its detections read; the local engine's copy (opt-in, `shared_copy`) gives the per-query path's
findings, every column; and CTEs read more than once are computed once (MATERIALIZED), with the same
findings."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest

from trailbook import store
from trailbook.demo import DEMO_WINDOW
from trailbook.engines import local
from trailbook.engines.columns import columns_read
from trailbook.engines.local import LocalEngine
from trailbook.engines.sql import partition_time_filter
from trailbook.session import Session

FORMATS = Path(__file__).parent / "fixtures" / "formats"
COPY = re.compile(r"\bshared_window\.cloudtrail\b")  # the shared copy's table, as the SQL names it
TABLE = ["eventtime", "eventname", "useridentity", "requestparameters", "awsregion"]


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- which columns a query reads

@pytest.mark.parametrize(("sql", "expected"), [
    # a string literal that spells a column is no read of it; the table's order is kept
    ("SELECT eventname, useridentity.arn FROM t WHERE eventtime > 'requestparameters'",
     ["eventtime", "eventname", "useridentity"]),
    # a star inside a CTE is fine when the result names its columns
    ("WITH e AS (SELECT * FROM t) SELECT awsregion FROM e", ["awsregion"]),
    ('SELECT "EventName" FROM t', ["eventname"]),  # quoted, any case
    ("SELECT count(*), 2 * 3 AS n FROM t", []),  # count(*) and a product are no star projection
    ("SELECT x FROM (SELECT *, awsregion AS x FROM t)", ["awsregion"]),
    # the result has every column: no narrowing
    ("SELECT * FROM t", None),
    ("WITH e AS (SELECT eventname FROM t) SELECT e.*, 1 FROM e", None),
    ("SELECT DISTINCT * FROM t", None),
    ("SELECT eventname FROM t UNION ALL SELECT * FROM u", None),
    ("SELECT eventname FROM t NATURAL JOIN u", None),
    ("(SELECT eventname FROM t)", None),  # no outermost SELECT to read: assume the worst
])
def test_columns_read(sql, expected):
    assert columns_read(sql, TABLE) == expected


def test_chunks_group_files_up_to_the_row_limit():
    rows = {"a": 100, "b": 200, "c": 50, "d": 300, "e": 500}
    assert local._chunks(["a", "b", "c", "d"], rows, 300) == [["a", "b"], ["c"], ["d"]]
    assert local._chunks(["e", "c"], rows, 100) == [["e"], ["c"]]  # a bigger file is a group alone
    assert local._chunks([], rows, 100) == []


# ---------------------------------------------------------------- the engine's shared copy

def test_the_shared_copy_holds_the_window_and_the_columns_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "SHARED_CHUNK_ROWS", 10)  # many chunks, each compressed before the next
    store.ingest(FORMATS, tmp_path / "store", progress=False)
    engine = LocalEngine(store=tmp_path / "store")
    start, end = _utc("2020-09-14T00:00:00Z"), _utc("2020-09-15T00:00:00Z")
    engine.shared_copy = False
    with engine.shared_scan(start, end, ["eventName"]):  # turned off: the store itself
        assert engine.fragments(start, end)["source"].startswith("cloudtrail")
    engine.shared_copy = True
    start, end = _utc("2020-09-14T00:00:00Z"), _utc("2020-09-15T00:00:00Z")  # the OTRF Mordor day: 103 events
    filtered = f"SELECT count(*) FROM {{}} WHERE {partition_time_filter(start, end)}"
    with engine.shared_scan(start, end, ["eventName"]):
        source = engine.fragments(start, end)["source"]
        assert COPY.fullmatch(source)
        assert engine.con.execute(f"SELECT count(*) FROM {source}").fetchone()[0] == 103
        assert engine.con.execute(filtered.format(source)).fetchone()[0] == 103
        names = [row[0] for row in engine.con.execute(f"DESCRIBE {source}").fetchall()]
        assert names == ["eventtime", "eventname", "account_partition", "region_partition", "date_partition"]
        inner = engine.fragments(start + dt.timedelta(hours=12), end)["source"]
        assert inner == source  # a window inside reads the copy too
        wider = engine.fragments(start - dt.timedelta(days=1), end)["source"]
        assert wider.startswith("cloudtrail")  # a window outside reads the store
        assert engine.con.execute(filtered.format(wider)).fetchone()[0] == 103
    assert engine.fragments(start, end)["source"].startswith("cloudtrail_")  # closed: the store again
    databases = [row[0] for row in engine.con.execute("SELECT database_name FROM duckdb_databases()").fetchall()]
    assert not [d for d in databases if d.startswith("shared_")]  # detached
    engine.close()


# ---------------------------------------------------------------- findings: shared == per query

def _cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_cell(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _cell(v)) for k, v in value.items()))
    return str(value)


def _by_detection(frame) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each detection's findings: its non-empty columns, and its rows as sorted tuples of them."""
    out = {}
    for name, group in frame.groupby("detection"):
        group = group.dropna(axis=1, how="all")
        columns = sorted(group.columns)
        rows = sorted((tuple(_cell(r[c]) for c in columns) for r in group.to_dict("records")), key=repr)
        out[name] = (columns, rows)
    return out


@pytest.fixture(scope="module")
def demo_store(demo_dir, tmp_path_factory):
    target = tmp_path_factory.mktemp("shared") / "store"
    store.ingest(demo_dir / "cloudtrail", target, progress=False)
    return target


def _detect(store_dir: Path, shared: bool):
    window = DEMO_WINDOW.as_dict()
    session = Session(LocalEngine(store=store_dir), start=window["detection_start"], end=window["detection_end"])
    session.engine.shared_copy = shared  # type: ignore[attr-defined]
    findings = session.detect(baseline_start=window["history_start"])
    session.close()
    return findings, session.evidence


def test_shared_findings_are_the_per_query_findings(demo_store):
    per_query, alone = _detect(demo_store, shared=False)
    shared, together = _detect(demo_store, shared=True)
    # Both paths ran every detection, and only the shared one read the copy.
    assert [r.query for r in alone] == [r.query for r in together] and len(together) > 40
    assert not any(COPY.search(r.sql) for r in alone)
    assert all(COPY.search(r.sql) for r in together)
    # Every detection, every column: the demo's findings do not depend on the path.
    expected, got = _by_detection(per_query), _by_detection(shared)
    assert len(expected) > 20  # the demo's incidents fire many detections
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], name


def test_materialized_ctes_give_the_same_findings(demo_store, monkeypatch, tmp_path):
    materialized, runs = _detect(demo_store, shared=False)
    assert any("MATERIALIZED" in r.stats["local_sql"] for r in runs)  # the first-seen family's `activity`
    local._translated.cache_clear()
    monkeypatch.setenv("TRAILBOOK_HOME", str(tmp_path))  # an empty translation cache: translate again
    monkeypatch.setattr(local, "_materialize_reused", lambda sql: sql)
    inlined, runs = _detect(demo_store, shared=False)
    local._translated.cache_clear()
    assert not any("MATERIALIZED" in r.stats["local_sql"] for r in runs)
    assert _by_detection(materialized) == _by_detection(inlined)


@pytest.mark.parametrize(("sql", "expected"), [
    # `a` is read by `b` and by the result: computed once; `b` is read once: inlined as before
    ("WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM a JOIN b USING (x)",
     "WITH a AS MATERIALIZED (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM a JOIN b USING (x)"),
    ("WITH a AS (SELECT 1 AS x) SELECT * FROM a", "WITH a AS (SELECT 1 AS x) SELECT * FROM a"),
    ("WITH a AS MATERIALIZED (SELECT 1 AS x) SELECT * FROM a, a AS b",
     "WITH a AS MATERIALIZED (SELECT 1 AS x) SELECT * FROM a, a AS b"),
])
def test_ctes_read_more_than_once_are_materialized(sql, expected):
    assert local._materialize_reused(sql) == expected


def test_by_default_the_copy_is_made_for_small_files_only(tmp_path, monkeypatch):
    store.ingest(FORMATS, tmp_path / "store", progress=False)
    engine = LocalEngine(store=tmp_path / "store")
    start, end = _utc("2020-09-14T00:00:00Z"), _utc("2020-09-15T00:00:00Z")
    files, _ = store.files_for(engine.con, "2020-09-14T00:00:00Z", "2020-09-15T00:00:00Z")
    rows = 103  # the Mordor day's events (above), in these files
    monkeypatch.setattr(local, "SHARED_MAX_ROWS_PER_FILE", rows // len(files) + 1)  # just above their mean
    with engine.shared_scan(start, end):
        assert COPY.fullmatch(engine.fragments(start, end)["source"])
    monkeypatch.setattr(local, "SHARED_MAX_ROWS_PER_FILE", rows // len(files))  # at or below their mean
    with engine.shared_scan(start, end):
        assert engine.fragments(start, end)["source"].startswith("cloudtrail_")
    engine.close()


def test_one_detection_reads_the_store(demo_store):
    window = DEMO_WINDOW.as_dict()
    session = Session(LocalEngine(store=demo_store), start=window["detection_start"], end=window["detection_end"])
    session.engine.shared_copy = True
    session.detect(["console_login_without_mfa"])
    assert not COPY.search(session.evidence[0].sql)  # nothing to share: no copy is made
    session.close()
