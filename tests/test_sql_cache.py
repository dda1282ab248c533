"""Translated SQL kept between runs (engines/sql_cache.py): another window of the same query is
served from the cache, and what it serves is what the translator makes of that text.

The oracle is the translator itself, run on each text directly, and the golden DuckDB files
(tests/golden/local_duckdb), never the cache's own answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trailbook.engines import local, sql_cache
from trailbook.translate import to_duckdb

GOLDEN = Path(__file__).parent / "golden"
WINDOW_A = "date_partition BETWEEN '2026/10/21' AND '2026/10/30' AND eventtime >= '2026-10-22T00:00:00Z'"
WINDOW_B = "date_partition BETWEEN '2026/11/04' AND '2026/11/13' AND eventtime >= '2026-11-05T06:00:00Z'"


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILBOOK_HOME", str(tmp_path / "home"))
    local._translated.cache_clear()
    yield
    local._translated.cache_clear()


class Counting:
    def __init__(self, rule):
        self.rule, self.texts = rule, []

    def __call__(self, sql: str) -> str:
        self.texts.append(sql)
        return self.rule(sql)


def test_another_window_of_the_same_query_is_served_without_translating():
    translate = Counting(lambda s: "/*duck*/ " + s.replace("date_partition", "dp"))
    first = sql_cache.translated(f"SELECT 1 FROM t WHERE {WINDOW_A}", translate)
    second = sql_cache.translated(f"SELECT 1 FROM t WHERE {WINDOW_B}", translate)
    assert first == ("/*duck*/ SELECT 1 FROM t WHERE dp BETWEEN '2026/10/21' AND '2026/10/30' "
                     "AND eventtime >= '2026-10-22T00:00:00Z'")
    assert second == ("/*duck*/ SELECT 1 FROM t WHERE dp BETWEEN '2026/11/04' AND '2026/11/13' "
                      "AND eventtime >= '2026-11-05T06:00:00Z'")
    assert len(translate.texts) == 1 and "2026" not in translate.texts[0]  # stand-ins went in
    assert len(list(sql_cache.folder().glob("*.sql"))) == 1
    # Another query is another entry.
    sql_cache.translated(f"SELECT 2 FROM t WHERE {WINDOW_B}", translate)
    assert len(translate.texts) == 2


def test_a_translator_that_rewrites_a_window_literal_gets_the_real_text():
    translate = Counting(lambda s: re.sub(r"'(\d{4})/(\d{2})/(\d{2})'", r"DATE '\1-\2-\3'", s))
    sql = f"SELECT 1 FROM t WHERE {WINDOW_B}"
    assert sql_cache.translated(sql, translate) == (
        "SELECT 1 FROM t WHERE date_partition BETWEEN DATE '2026-11-04' AND DATE '2026-11-13' "
        "AND eventtime >= '2026-11-05T06:00:00Z'")
    assert translate.texts[-1] == sql


def test_a_text_that_already_holds_a_stand_in_is_translated_as_it_is():
    translate = Counting(lambda s: s)
    sql = f"SELECT '1111-01-01T00:00:00Z' AS planted FROM t WHERE {WINDOW_A}"
    assert sql_cache.translated(sql, translate) == sql
    assert translate.texts == [sql] and not sql_cache.folder().exists()


def test_an_unwritable_cache_costs_time_not_the_answer(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("TRAILBOOK_HOME", str(blocked))
    translate = Counting(lambda s: s.upper())
    assert sql_cache.translated("select 1", translate) == "SELECT 1"


def test_past_keep_entries_the_oldest_are_deleted(monkeypatch):
    monkeypatch.setattr(sql_cache, "KEEP", 4)
    for n in range(5):
        sql_cache.translated(f"SELECT {n}", lambda s: s)
    # The fifth entry made five: the oldest two are deleted, down to three quarters of KEEP.
    assert sorted(p.read_text() for p in sql_cache.folder().glob("*.sql")) == ["SELECT 2", "SELECT 3", "SELECT 4"]


def _shifted(text: str) -> str:
    """The same query over another window: every time and day literal moved to other values."""
    text = re.sub(r"'2026-10-(\d{2})T", lambda m: f"'2027-03-{int(m.group(1)) % 28 + 1:02d}T", text)
    return re.sub(r"'2026/10/(\d{2})'", lambda m: f"'2027/03/{int(m.group(1)) % 28 + 1:02d}'", text)


@pytest.mark.parametrize("path", sorted((GOLDEN / "local_trino").glob("*.sql")), ids=lambda p: p.stem)
def test_every_catalog_query_from_the_cache_is_what_the_translator_makes(path):
    trino = path.read_text()
    # The golden file is the bare translation (to_duckdb), with a newline.
    assert sql_cache.translated(trino, to_duckdb) + "\n" == (GOLDEN / "local_duckdb" / path.name).read_text()
    other = _shifted(trino)
    if other == trino:
        pytest.skip("no window literal in this query")
    assert sql_cache.translated(other, to_duckdb) == to_duckdb(other)
    assert len(list(sql_cache.folder().glob("*.sql"))) == 1  # the second window was served from the cache


def test_the_local_engine_translates_through_the_cache():
    sql = (GOLDEN / "local_trino" / "console_login_without_mfa.sql").read_text()
    assert local._translated(sql) == local.translate_now(sql)
    assert len(list(sql_cache.folder().glob("*.sql"))) == 1
