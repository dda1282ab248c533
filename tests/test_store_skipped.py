"""Entries that must never be opened (FIFOs block forever, devices never end) and empty files are
skipped, counted and named; the good files around them still load.

Each ingest runs in a child process with a timeout, so a regression that opens a FIFO fails the
test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FORMATS = Path(__file__).parent / "fixtures" / "formats"
LIB = Path(__file__).resolve().parents[1] / "lib"
CHILD = ("import json, sys; from trailbook import store; "
         "r = store.ingest(sys.argv[2:], sys.argv[1], progress=False); "
         "print(json.dumps({**r.to_dict(), 'summary': r.summary()}))")


def ingest_in_child(store_dir: Path, *sources: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(store_dir), *map(str, sources)],
                          env={**os.environ, "PYTHONPATH": str(LIB)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _char_device() -> str:
    for candidate in ("/dev/zero", "/dev/urandom", "/dev/null"):
        if stat.S_ISCHR(os.stat(candidate).st_mode):
            return candidate
    pytest.skip("no character device to link to")


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    """Three good events in one file, next to every kind of entry that is not a regular file."""
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copyfile(next((FORMATS / "org").rglob("*.json.gz")), folder / "good.json.gz")
    os.mkfifo(folder / "fifo.json")
    os.symlink(folder / "fifo.json", folder / "to_fifo.json.gz")
    os.symlink(folder / "missing.json", folder / "broken.json")
    os.symlink(_char_device(), folder / "null.json")  # reading it would never end
    (folder / "empty.json.gz").write_bytes(b"")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "sock.json"))
    listener.close()  # the socket file stays
    os.mkfifo(folder / ".hidden.json")  # hidden entries are passed over, as by loader.discover
    return folder


def test_special_entries_and_empty_files_are_skipped_named_and_never_opened(tmp_path, hostile_folder):
    report = ingest_in_child(tmp_path / "store", hostile_folder)
    skipped = {Path(path).name: why for path, why in report["skipped_files"]}
    assert set(skipped) == {"fifo.json", "to_fifo.json.gz", "broken.json", "null.json", "empty.json.gz", "sock.json"}
    assert skipped["fifo.json"].startswith("FIFO") and skipped["to_fifo.json.gz"].startswith("FIFO")
    assert skipped["broken.json"] == "broken symlink"
    assert skipped["null.json"].startswith("character device")
    assert skipped["sock.json"].startswith("socket")
    assert skipped["empty.json.gz"] == "empty (0 bytes)"
    assert (report["events_loaded"], report["bad_files"], report["bad_records"]) == (3, [], 0)
    assert "skipped, never opened (6):" in report["summary"]
    assert all(any(name in line for line in report["summary"]) for name in skipped)

    again = ingest_in_child(tmp_path / "store", hostile_folder)  # skipped again, and named again
    assert (again["files_new"], len(again["skipped_files"])) == (0, 6)


def test_a_fifo_named_as_the_source_is_skipped_not_read(tmp_path, hostile_folder):
    report = ingest_in_child(tmp_path / "store", hostile_folder / "fifo.json", hostile_folder / "good.json.gz")
    assert [Path(p).name for p, _ in report["skipped_files"]] == ["fifo.json"]
    assert report["events_loaded"] == 3


def test_a_file_name_cannot_forge_summary_lines(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copyfile(next((FORMATS / "org").rglob("*.json.gz")), folder / "good.json.gz")
    (folder / "x\nstore: forged.json").write_bytes(b"")
    report = ingest_in_child(tmp_path / "store", folder)
    lines = "\n".join(report["summary"]).splitlines()
    assert not any(line.startswith("store: forged") for line in lines)
    assert any("x\\nstore: forged.json" in line for line in lines)


def test_a_folder_that_cannot_be_listed_is_named_not_silently_lost(tmp_path, monkeypatch):
    """Permission denied on a folder (simulated: these tests may run as root, who lists anything)."""
    from trailbook.loader import find as loader_find
    from trailbook.store.discover import find

    locked = tmp_path / "src" / "locked"
    locked.mkdir(parents=True)
    (tmp_path / "src" / "ok.json").write_text('{"Records": []}')
    real = os.scandir

    def scandir(path):
        if os.fspath(path) == str(locked.resolve()):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(loader_find.os, "scandir", scandir)
    found = find(tmp_path / "src")
    assert found.files == [str((tmp_path / "src" / "ok.json").resolve())]
    assert found.skipped == [(str(locked.resolve()), "folder that cannot be listed")]
