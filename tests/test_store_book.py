"""The bookkeeping database (store/book.py) and a reader's snapshot of it (store/reader.py)."""

from __future__ import annotations

import duckdb

from trailbook import store
from trailbook.store import book


def _book_with(tmp_path, paths):
    con = book.open_book(tmp_path, read_only=False)
    book.record(con, [], {"path": paths, "size": [10, 20, 30][: len(paths)],
                          "mtime_ns": [1, 2, 3][: len(paths)], "events": [1, 1, 1][: len(paths)],
                          "status": ["loaded", "bad", "loaded"][: len(paths)],
                          "reason": [None, "truncated gzip", None][: len(paths)]})
    return con


def test_known_files_asked_for_some_paths_answers_for_those_only(tmp_path):
    con = _book_with(tmp_path, ["/t/a.json.gz", "/t/b.json.gz", "/t/c.json.gz"])
    try:
        assert book.known_files(con, ["/t/b.json.gz", "/t/new.json.gz"]) == {
            "/t/b.json.gz": (20, 2, "bad", "truncated gzip")}
        assert book.known_files(con, []) == {}
        assert set(book.known_files(con)) == {"/t/a.json.gz", "/t/b.json.gz", "/t/c.json.gz"}
    finally:
        con.close()
    assert book.committed_state(tmp_path, ["/t/c.json.gz"]) == {"/t/c.json.gz": (30, 3, "loaded", None)}


def test_a_store_whose_first_ingest_stopped_before_its_tables_reads_as_empty(tmp_path):
    # kill -9 can land after DuckDB made the file and before the tables exist.
    duckdb.connect(str(store.db_path(tmp_path))).close()
    con = store.connect(tmp_path)
    try:
        assert con.execute("SELECT count(*) FROM cloudtrail").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM ingested_files").fetchone() == (0,)
    finally:
        con.close()
    assert book.committed_state(tmp_path) is None
