"""The local engine over a Parquet store: partition pruning happens before DuckDB sees the query."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trailbook import store
from trailbook.engines.local import LocalEngine
from trailbook.engines.sql import partition_time_filter

FORMATS = Path(__file__).parent / "fixtures" / "formats"


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _engine(tmp_path: Path, **kwargs) -> LocalEngine:
    store.ingest(FORMATS, tmp_path / "store", progress=False)
    return LocalEngine(store=tmp_path / "store", **kwargs)


def _count(engine: LocalEngine, source: str, start: dt.datetime, end: dt.datetime) -> int:
    sql = f"SELECT count(*) FROM {source} WHERE {partition_time_filter(start, end)}"
    return engine.con.execute(sql).fetchone()[0]


def test_a_window_reads_only_the_files_that_can_hold_it(tmp_path):
    engine = _engine(tmp_path)
    start, end = _utc("2020-09-14T00:00:00Z"), _utc("2020-09-15T00:00:00Z")  # the OTRF Mordor day
    source = engine.fragments(start, end)["source"]
    assert source.startswith("cloudtrail_")
    chosen, total = store.files_for(engine.con, "2020-09-14T00:00:00Z", "2020-09-15T00:00:00Z")
    assert 0 < len(chosen) < total
    assert all("/2020/09/14/" in path for path in chosen)
    whole = _count(engine, "cloudtrail", start, end)
    assert whole == 103 and _count(engine, source, start, end) == whole
    assert engine.fragments(start, end)["source"] == source  # one view per file set


def test_a_window_over_everything_uses_the_whole_store(tmp_path):
    engine = _engine(tmp_path)
    assert engine.fragments(_utc("2000-01-01T00:00:00Z"), _utc("2100-01-01T00:00:00Z"))["source"] == "cloudtrail"


def test_an_empty_window_reads_no_file_and_keeps_the_columns(tmp_path):
    engine = _engine(tmp_path)
    start, end = _utc("1999-01-01T00:00:00Z"), _utc("1999-01-02T00:00:00Z")
    source = engine.fragments(start, end)["source"]
    assert _count(engine, source, start, end) == 0
    described = engine.con.execute(f"DESCRIBE {source}").fetchall()
    assert [r[:2] for r in described] == [r[:2] for r in engine.con.execute("DESCRIBE cloudtrail").fetchall()]


def test_the_account_scope_prunes_files_too(tmp_path):
    engine = _engine(tmp_path, accounts=["562283505220"])
    start, end = _utc("2000-01-01T00:00:00Z"), _utc("2100-01-01T00:00:00Z")
    chosen, total = store.files_for(engine.con, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z",
                                    accounts=["562283505220"])
    assert len(chosen) < total
    assert all("/562283505220/" in path for path in chosen)
    source = engine.fragments(start, end)["source"]
    assert source.startswith("cloudtrail_")
    scoped = f"{partition_time_filter(start, end)} AND account_partition = '562283505220'"
    assert engine.con.execute(f"SELECT count(*) FROM {source} WHERE {scoped}").fetchone() == \
        engine.con.execute(f"SELECT count(*) FROM cloudtrail WHERE {scoped}").fetchone()
