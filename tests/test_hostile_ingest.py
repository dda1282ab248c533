"""Hostile input never stops an ingest, is named when bad, and never costs a good record (issue 12).

Every file of tests/fixtures/hostile/ (written by tests/make_hostile_corpus.py, whose manifest is
the oracle: it is built without trailbook) is ingested alone through the public entry point,
``sources.prepare``, into a fresh store. The test asserts that the run completes, that the file
or each bad record is named in the summary with its reason, and that exactly the expected
events are in the store (by eventID, content ids included). The 50 MB record and the 100k-deep
nesting are written at test time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from trailbook import loader, sources
from trailbook import store as store_mod

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "fixtures" / "hostile"
sys.path.insert(0, str(HERE))
import make_hostile_corpus  # noqa: E402 - the oracle, a script beside the tests

MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["files"]

# Store changes this test needs that are not in the store yet (see the files' manifest entries).
# Remove a name once the store has it: the strict xfail then fails, as a reminder.
STORE_ASKS_PENDING: set[str] = set()


def _asks(entry: dict) -> set[str]:
    """The store changes an entry depends on."""
    needs = set()
    if entry["compact_records"] and "far_times" in entry["path"]:
        needs.add("times-in-range")  # canonical-looking future/past times are checked only in Python
    if entry["compact_records"] and "missing_ids" in entry["path"]:
        needs.add("ids-in-fast-path")
    return needs & STORE_ASKS_PENDING


def _params(entries: list[dict]):
    for entry in entries:
        pending = _asks(entry)
        marks = [pytest.mark.xfail(strict=True, reason=f"needs store change: {sorted(pending)}")] if pending else []
        yield pytest.param(entry, id=entry["path"].rsplit("/", 1)[-1], marks=marks)


def _ingest(path: Path, store: Path):
    prepared = sources.prepare(str(path), str(store))
    report = prepared.ingest
    files = [str(p) for p in store_mod.data_files(store)]
    rows = duckdb.connect().execute(
        f"SELECT eventid FROM read_parquet({files})").fetchall() if files else []
    return report, "\n".join(report.summary()), [r[0] for r in rows]


def _line_naming(summary: str, path: Path) -> str:
    """The summary line that names path (file names are shown escaped when not printable)."""
    lines = [line for line in summary.splitlines() if str(path) in line]
    assert lines, f"{path} is not named in the summary:\n{summary}"
    return "\n".join(lines)


def _check(entry: dict, folder: Path, tmp_path: Path) -> None:
    path = folder / entry["path"]
    report, summary, loaded = _ingest(path, tmp_path / "store")
    assert sorted(set(loaded)) == entry["ids"], entry["why"]
    assert len(loaded) == entry["rows"], f"{entry['why']}: rows stored"
    assert report.bad_records == entry["bad_records"], summary
    if entry["repaired"]:  # loaded with U+FFFD: the loader names the repair
        assert loader.read_file(path).repaired_records == entry["repaired"]
        if "repairs-named" in STORE_ASKS_PENDING:
            return
    if entry["bad_file"] or entry["skipped"] or entry["bad_records"] or entry["reasons"]:
        named = _line_naming(summary, path)
        for reason in [entry["bad_file"] or entry["skipped"] or "", *entry["reasons"]]:
            assert reason in named, f"{entry['why']}: {reason!r} not in {named!r}"
    if entry["bad_file"]:
        assert (str(path), ) == tuple(p for p, _ in report.bad_files), summary


@pytest.mark.xfail("repairs-named" in STORE_ASKS_PENDING, strict=True, reason="needs store change: repairs-named")
@pytest.mark.parametrize("entry", [e for e in MANIFEST if e["repaired"]], ids=lambda e: e["path"].rsplit("/", 1)[-1])
def test_repaired_files_are_named_in_the_summary(entry, tmp_path):
    path = CORPUS / entry["path"]
    _, summary, _ = _ingest(path, tmp_path / "store")
    assert "invalid UTF-8" in _line_naming(summary, path)


@pytest.mark.parametrize("entry", list(_params(MANIFEST)))
def test_each_hostile_file(entry, tmp_path):
    _check(entry, CORPUS, tmp_path)


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-big")
    return folder, {entry["path"]: entry for entry in make_hostile_corpus.big_cases(folder)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["big50mb.json.gz", "deep100k.json", "deep100k.jsonl"])
def test_big_hostile_files(name, big_folder, tmp_path):
    folder, entries = big_folder
    entry = next(e for path, e in entries.items() if path.endswith(name))
    _check(entry, folder, tmp_path)


@pytest.mark.xfail(bool(STORE_ASKS_PENDING), strict=True, reason=f"needs store changes {sorted(STORE_ASKS_PENDING)}")
def test_the_whole_corpus_in_one_ingest(tmp_path):
    """Together, every good record of every file loads once and every bad one is counted (files
    that hold the same events in another shape dedupe against each other)."""
    keys = {tuple(key) for entry in MANIFEST for key in entry["keys"]}
    report, summary, loaded = _ingest(CORPUS, tmp_path / "store")
    assert sorted(set(loaded)) == sorted({key[0] for key in keys}), summary
    assert len(loaded) == len(keys), summary
    assert report.bad_records == sum(entry["bad_records"] for entry in MANIFEST), summary
    for entry in MANIFEST:
        if entry["bad_file"] or entry["bad_records"]:
            _line_naming(summary, CORPUS / entry["path"])


def test_corpus_is_what_the_script_writes(tmp_path):
    """The committed corpus is exactly the script's output (deterministic, nothing hand-edited)."""
    subprocess.run([sys.executable, str(HERE / "make_hostile_corpus.py"), str(tmp_path / "out")], check=True,
                   capture_output=True)
    committed = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file())
    written = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert committed == written
    for rel in committed:
        assert (CORPUS / rel).read_bytes() == (tmp_path / "out" / rel).read_bytes(), rel
