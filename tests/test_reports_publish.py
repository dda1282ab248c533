"""Publishing a run (trailbook.reports.publish), without running a report: hashes, names, the rename.

Fast and self-contained, so module mutation (tests/mutation) can run it once per mutant. The
expected hashes come from hashlib and from `sha256sum -c`, never from publish.py itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest

from trailbook.reports import publish

STAMP = "2026-11-29T0600Z"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run(tmp_path, files: dict[str, bytes]):
    """A finished run's folder, as a report leaves it before the manifest."""
    work = publish.work_dir(tmp_path, STAMP)
    for name, data in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    return work


def test_a_file_hash_is_its_sha256_also_past_the_first_read_block(tmp_path):
    big = os.urandom((1 << 20) + 17)  # one block and a bit: the second read must count
    (tmp_path / "big").write_bytes(big)
    (tmp_path / "empty").write_bytes(b"")
    assert publish.sha256_file(tmp_path / "big") == _sha(big)
    assert publish.sha256_file(tmp_path / "empty") == _sha(b"")


def test_the_catalog_hash_covers_every_sql_file_by_name_and_content(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.sql").write_text("SELECT 1")
    (tmp_path / "two.sql").write_text("SELECT 2")
    (tmp_path / "notes.md").write_text("not a query")
    first = publish.catalog_revision(tmp_path)
    assert first["queries"] == 2 and first["path"] == str(tmp_path)
    assert len(first["content_sha256"]) == 64

    def changed(edit) -> bool:
        edit()
        return publish.catalog_revision(tmp_path)["content_sha256"] != first["content_sha256"]

    (tmp_path / "notes.md").write_text("edited")  # not a query: the hash stays
    assert publish.catalog_revision(tmp_path)["content_sha256"] == first["content_sha256"]
    assert changed(lambda: (tmp_path / "a" / "one.sql").rename(tmp_path / "a" / "uno.sql"))  # a rename counts
    (tmp_path / "a" / "uno.sql").rename(tmp_path / "a" / "one.sql")
    assert publish.catalog_revision(tmp_path)["content_sha256"] == first["content_sha256"]
    # The same bytes split differently between two files is another catalog.
    assert changed(lambda: ((tmp_path / "a" / "one.sql").write_text("SELECT 1SELECT"),
                            (tmp_path / "two.sql").write_text(" 2")))


def test_the_catalog_hash_does_not_depend_on_the_order_files_were_made(tmp_path):
    left, right = tmp_path / "left", tmp_path / "right"
    for root, order in ((left, ("b.sql", "a.sql")), (right, ("a.sql", "b.sql"))):
        root.mkdir()
        for name in order:
            (root / name).write_text(name)
    assert publish.catalog_revision(left)["content_sha256"] == publish.catalog_revision(right)["content_sha256"]


def test_outside_a_git_checkout_the_catalog_has_no_revision(tmp_path):
    (tmp_path / "q.sql").write_text("SELECT 1")
    revision = publish.catalog_revision(tmp_path)
    assert revision["git_revision"] is None and revision["git_dirty"] is None


def test_inside_a_git_checkout_the_catalog_names_its_commit_and_whether_it_is_dirty():
    from trailbook import paths

    queries = paths.queries_dir()
    head = subprocess.run(["git", "-C", str(queries), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the queries are not in a git checkout")
    status = subprocess.run(["git", "-C", str(queries), "status", "--porcelain", "--", "."],
                            capture_output=True, text=True, check=True)
    revision = publish.catalog_revision()
    assert revision["git_revision"] == head.stdout.strip()
    assert revision["git_dirty"] is bool(status.stdout.strip())
    assert revision["path"] == str(queries)


def test_a_run_is_built_in_a_fresh_hidden_partial_folder_named_after_the_process(tmp_path):
    first, second = publish.work_dir(tmp_path, STAMP), publish.work_dir(tmp_path, STAMP)
    assert first != second and first.is_dir() and second.is_dir()
    for work in (first, second):
        assert work.parent == tmp_path
        assert re.fullmatch(rf"\.{re.escape(STAMP)}\.partial-{os.getpid()}-[0-9a-f]{{8}}", work.name), work.name
    assert publish.iter_runs(tmp_path) == []  # hidden: never listed as a run


def _ended_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: its pid is free
    return child.pid


def test_only_the_partials_of_ended_processes_are_removed(tmp_path):
    other = subprocess.Popen(["sleep", "30"])
    try:
        dead = [tmp_path / f".{STAMP}.partial-{_ended_pid()}-{n:08x}" for n in range(2)]
        alive = [tmp_path / f".{STAMP}.partial-{other.pid}-00000000", tmp_path / f".{STAMP}.partial-{os.getpid()}-0"]
        for folder in (*dead, *alive):
            folder.mkdir()
            (folder / "half.ipynb").write_text("{")
        assert sorted(publish.clean_stale(tmp_path)) == sorted(dead)
        assert not any(f.exists() for f in dead) and all(f.exists() for f in alive)
    finally:
        other.kill()
        other.wait()


def test_a_process_of_another_user_counts_as_alive(monkeypatch):
    def kill(pid, signal):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(publish.os, "kill", kill)
    assert publish._alive(12345)


def test_a_dead_process_is_cleaned_whether_its_pid_is_above_or_below_ours(tmp_path, monkeypatch):
    pid_max = int(open("/proc/sys/kernel/pid_max").read()) if os.path.exists("/proc/sys/kernel/pid_max") else 1 << 22
    dead = tmp_path / f".{STAMP}.partial-{_ended_pid()}-abcd1234"
    dead.mkdir()
    monkeypatch.setattr(publish.os, "getpid", lambda: pid_max + 1)  # every real pid is below "ours"
    assert publish.clean_stale(tmp_path) == [dead]


def test_folders_that_carry_no_process_do_not_stop_the_cleaning(tmp_path):
    odd = [tmp_path / f".{STAMP}.partial-x{n:02d}-abcd1234" for n in range(20)]
    dead = tmp_path / f".{STAMP}.partial-{_ended_pid()}-abcd1234"
    for folder in (*odd, dead):
        folder.mkdir()
    assert publish.clean_stale(tmp_path) == [dead]
    assert all(folder.exists() for folder in odd)


def test_stale_partials_whose_names_carry_no_process_are_left_alone(tmp_path):
    odd = [tmp_path / f".{STAMP}.partial-nopid-abcd1234", tmp_path / f".{STAMP}.partial-"]
    mine = tmp_path / f".{STAMP}.partial-{os.getpid()}-abcd1234"
    for folder in (*odd, mine):
        folder.mkdir()
    assert publish.clean_stale(tmp_path) == []
    assert all(folder.exists() for folder in (*odd, mine))


def test_a_process_that_exists_is_alive_and_one_that_ended_is_not():
    assert publish._alive(os.getpid())
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert publish._alive(child.pid)
    finally:
        child.kill()
        child.wait()  # reaped: its pid is free
    assert not publish._alive(child.pid)


def test_the_manifest_lists_every_file_already_in_the_run_with_its_hash_and_size(tmp_path):
    files = {"a.html": b"<p>a</p>", "sub/b.ipynb": b"{}", "findings.csv": b""}
    work = _run(tmp_path, files)
    path = publish.write_manifest(work, {"run_id": STAMP, "created": dt.datetime(2026, 11, 29, 6, 0)})
    assert path == work / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest["run_id"] == STAMP and manifest["created"] == "2026-11-29 06:00:00"  # default=str
    assert manifest["files"] == {name: {"sha256": _sha(data), "bytes": len(data)} for name, data in files.items()}
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_publishing_writes_sha256sums_for_every_file_and_renames_the_run(tmp_path):
    files = {"a.html": b"<p>a</p>", "sub/deeper/b.ipynb": b"{}", "z.csv": b"x,y\n"}
    work = _run(tmp_path, files)
    publish.write_manifest(work, {"run_id": STAMP})
    final = publish.publish(work, tmp_path, STAMP)
    assert final == tmp_path / STAMP and final.is_dir() and not work.exists()
    lines = (final / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(names) == sorted([*files, "manifest.json"])  # the manifest too, not SHA256SUMS
    for line in lines:
        digest, name = line.split("  ", 1)
        assert digest == _sha((final / name).read_bytes())
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=final, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    assert publish.verify_run(final) == []
    assert publish.iter_runs(tmp_path) == [final]


def test_a_taken_minute_gets_the_next_free_suffix(tmp_path):
    runs = []
    for _ in range(3):
        work = _run(tmp_path, {"x": b"x"})
        publish.write_manifest(work, {})
        runs.append(publish.publish(work, tmp_path, STAMP))
    assert [r.name for r in runs] == [STAMP, f"{STAMP}-2", f"{STAMP}-3"]
    assert publish.iter_runs(tmp_path) == sorted(runs)


def _other_bytes(old: bytes, lower: bool) -> bytes:
    """Some content whose SHA-256 sorts below (or above) old's: a change is a change either way."""
    n = 0
    while (_sha(b"%d" % n) < _sha(old)) != lower:
        n += 1
    return b"%d" % n


def test_a_change_is_found_whichever_way_the_new_hash_sorts(tmp_path):
    work = _run(tmp_path, {"low": b"low", "high": b"high"})
    publish.write_manifest(work, {})
    run = publish.publish(work, tmp_path, STAMP)
    (run / "low").write_bytes(_other_bytes(b"low", lower=True))
    (run / "high").write_bytes(_other_bytes(b"high", lower=False))
    assert publish.verify_run(run) == ["high: changed", "low: changed"]


def test_git_that_fails_or_dies_gives_no_revision_and_no_dirty_flag(tmp_path, monkeypatch):
    (tmp_path / "q.sql").write_text("SELECT 1")
    answers: dict[str, subprocess.CompletedProcess] = {}

    def run(args, **kwargs):
        return answers[args[3]]

    monkeypatch.setattr(publish.subprocess, "run", run)

    def revision(rev_parse: tuple[int, str], status: tuple[int, str]) -> tuple:
        answers["rev-parse"] = subprocess.CompletedProcess([], rev_parse[0], rev_parse[1], "")
        answers["status"] = subprocess.CompletedProcess([], status[0], status[1], "")
        out = publish.catalog_revision(tmp_path)
        return out["git_revision"], out["git_dirty"]

    assert revision((0, "abc\n"), (0, "")) == ("abc", False)
    assert revision((0, "abc\n"), (0, " M q.sql\n")) == ("abc", True)
    assert revision((128, ""), (0, "")) == (None, None)  # not a checkout
    assert revision((-9, ""), (0, "")) == (None, None)  # git killed
    assert revision((0, "abc\n"), (1, " M q.sql\n")) == ("abc", None)  # status failed: unknown, not clean
    assert revision((0, "abc\n"), (-9, "")) == ("abc", None)


def test_verification_names_every_file_changed_or_missing_since_publishing(tmp_path):
    work = _run(tmp_path, {"a.html": b"a", "b.csv": b"b", "c/d.json": b"{}"})
    publish.write_manifest(work, {})
    run = publish.publish(work, tmp_path, STAMP)
    (run / "a.html").write_bytes(b"A")
    (run / "c" / "d.json").unlink()
    assert publish.verify_run(run) == ["a.html: changed", "c/d.json: missing"]
    (run / "b.csv").unlink()
    (run / "b.csv").mkdir()  # a folder where a file was is not the file
    assert publish.verify_run(str(run)) == ["a.html: changed", "b.csv: missing", "c/d.json: missing"]


def test_only_published_run_folders_are_runs(tmp_path):
    def folder(name, manifest=True):
        path = tmp_path / name
        path.mkdir()
        if manifest:
            (path / "manifest.json").write_text("{}")
        return path

    later, earlier = folder("2026-11-30T0600Z"), folder("2026-11-29T0600Z")
    folder(".2026-11-30T0700Z.partial-1-abcd1234")  # hidden, even with a manifest
    folder("2026-12-01T0600Z", manifest=False)  # no manifest: not a run
    (tmp_path / "2026-12-02T0600Z").write_text("a file, not a folder")
    assert publish.iter_runs(str(tmp_path)) == [earlier, later]


def test_the_manifest_records_the_run_as_planned_and_collected(tmp_path):
    import platform

    import pandas as pd

    from trailbook import __version__
    from trailbook.reports import manifest
    from trailbook.reports.collect import Collected, NotebookResult
    from trailbook.reports.plan import ReportPlan

    plan = ReportPlan(notebooks=[], notebooks_dir=tmp_path, engine="local", start="2026-11-22T00:00:00Z",
                      end="2026-11-29T00:00:00Z", shared={"x": 1}, fail_on="high", cell_timeout=60, jobs=1)
    result = NotebookResult(name="n", title="N", status="ok", error=None, started_at="s", ended_at="e",
                            duration_s=1.5, parameters={"x": 1}, ipynb="n.ipynb", html="n.html", findings=3)
    findings = pd.DataFrame({"severity": ["high", "low", "high"]})
    collected = Collected(results=[result], findings=findings, queries=[{"query": "q"}])
    record = manifest.build_manifest(
        plan=plan, stamp=STAMP, started_at=dt.datetime(2026, 11, 29, 6, 0, 5), collected=collected,
        findings=findings, over=2, exit_code=3, shared={"x": 1}, redaction={"enabled": False},
        local_store={"events": 9}, local_store_error=None)
    assert record["trailbook_version"] == __version__ and record["run_id"] == STAMP
    assert record["created_at"] == "2026-11-29T06:00:05Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["finished_at"])
    assert record["python"] == platform.python_version()
    assert (record["engine"], record["window"]) == ("local", {"start": plan.start, "end": plan.end})
    assert (record["fail_on"], record["exit_code"], record["parameters"]) == ("high", 3, {"x": 1})
    assert record["exit_codes"] == {"ok": 0, "failed": 1, "usage": 2, "findings": 3, "no_data": 4}  # README's table
    assert record["findings"]["total"] == 3 and record["findings"]["at_or_above_fail_on"] == 2
    assert record["findings"]["by_severity"]["high"] == 2 and record["findings"]["by_severity"]["low"] == 1
    assert record["notebooks"][0]["name"] == "n" and record["notebooks"][0]["duration_s"] == 1.5
    assert record["queries"] == [{"query": "q"}] and record["files"] == {}
    assert record["catalog"]["queries"] == publish.catalog_revision()["queries"]
    assert (record["redaction"], record["local_store"], record["local_store_error"]) == (
        {"enabled": False}, {"events": 9}, None)
