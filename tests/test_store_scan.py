"""Typing a batch (trailbook.store.scan) on tiny hand-made files: rows counted per file and filed by
partition, odd times fixed, bad records counted, and a failing scan bisected down to the file at
fault. Fast, so module mutation can run it per mutant (test_store.py ingests whole folders).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pytest

from trailbook.store import lines, scan, tuning
from trailbook.store.discover import Pending

BASE = {"eventVersion": "1.08", "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
        "eventTime": "2024-08-02T10:00:00Z", "awsRegion": "us-east-1", "recipientAccountId": "111111111111",
        "userIdentity": {"type": "IAMUser", "accountId": "111111111111"}}
HOME = ("111111111111", "us-east-1", "2024/08/02")
MIB = 1 << 20


def event(eid: str | None, **changes) -> dict:
    record = {**BASE, "eventID": eid, **changes}
    return {k: v for k, v in record.items() if v is not None}


def write(folder, name: str, records: list) -> str:
    """A compact one-line Records file (the fast path's shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"Records": records}, separators=(",", ":")), encoding="utf-8")
    return str(path)


def pending(paths: list[str]) -> list[Pending]:
    return [Pending(p, 0, 0, json_size=1000, order=n) for n, p in enumerate(paths)]


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET threads = 1")
    yield connection
    connection.close()


@pytest.fixture
def work(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    with ThreadPoolExecutor(1) as pool:
        yield lines.Work(folder, pool, "b")


def read_batch(con, work, items: list[Pending]) -> scan.Output:
    return scan.read_batch(con, items, work, lines.prepare(scan.readable(items), work))


def stored_ids(output: scan.Output) -> dict[tuple, list[str]]:
    return {key: sorted(i for s in slices for i in s.column("eventid").to_pylist())
            for key, slices in output.groups.items()}


# Output


def keys(*arrays: list[int]) -> list[pa.Array]:
    return [pa.array(a, pa.uint64()) for a in arrays]


def test_a_fresh_output_holds_nothing():
    output = scan.Output()
    assert (output.groups, output.rows, output.keys) == ({}, Counter(), [])
    assert (output.times_fixed, output.duplicates) == (False, 0)
    assert not output.has_repeats()


def test_has_repeats_is_true_only_when_a_key_repeats_or_times_were_rewritten():
    assert not scan.Output(keys=keys([1, 2], [3])).has_repeats()
    assert scan.Output(keys=keys([1, 2], [3, 2])).has_repeats()  # across arrays
    assert scan.Output(keys=keys([5, 5])).has_repeats()
    # A rewritten eventTime was hashed in its odd form: its key says nothing.
    assert scan.Output(keys=keys([1, 2]), times_fixed=True).has_repeats()
    assert scan.Output(times_fixed=True).has_repeats()


def test_merge_appends_slices_adds_counts_and_keeps_any_rewritten_time():
    s1, s2, s3 = (pa.record_batch({"x": [n]}) for n in (1, 2, 3))
    a, b = ("a", "r", "d"), ("b", "r", "d")
    output = scan.Output(groups={a: [s1]}, rows=Counter({"f1": 2}), keys=keys([1]))
    output.merge(scan.Output(groups={a: [s2], b: [s3]}, rows=Counter({"f1": 1, "f2": 4}), keys=keys([2])))
    assert output.groups == {a: [s1, s2], b: [s3]}
    assert output.rows == Counter({"f1": 3, "f2": 4})
    assert [k.to_pylist() for k in output.keys] == [[1], [2]]
    assert output.times_fixed is False
    for mine, theirs in ((False, True), (True, False), (True, True)):
        merged = scan.Output(times_fixed=mine)
        merged.merge(scan.Output(times_fixed=theirs))
        assert merged.times_fixed is True


# readable


def test_digest_files_are_recorded_and_left_out_of_the_batch():
    names = ["AWSLogs/1/CloudTrail/us-east-1/2024/08/02/a.json.gz",
             "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/08/02/b.json.gz",
             "x/111111111111_CloudTrail-Digest_us-east-1_t_20240802T1000Z.json.gz",
             "c.json"]
    items = pending(names)
    assert [i.path for i in scan.readable(items)] == [names[0], names[3]]
    assert [(i.status, i.reason) for i in items] == [
        ("loaded", None), ("digest", "CloudTrail-Digest file"), ("digest", "CloudTrail-Digest file"), ("loaded", None)]


# read_batch: rows per file and per partition


def test_rows_are_counted_per_file_and_filed_by_partition(con, work, tmp_path):
    src = tmp_path / "src"
    a = write(src, "a.json", [event("e1"), event("e2", awsRegion="eu-west-1"),
                              event("e3", eventTime="2024-08-03T00:00:00Z")])
    b = write(src, "b.json", [event("e4", recipientAccountId="222222222222")])
    digest = "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/08/02/d.json.gz"
    items = pending([a, digest, b])
    output = read_batch(con, work, items)
    assert output.rows == Counter({a: 3, b: 1})
    assert [(i.events, i.status) for i in items] == [(3, "loaded"), (0, "digest"), (1, "loaded")]
    assert stored_ids(output) == {HOME: ["e1"], ("111111111111", "eu-west-1", "2024/08/02"): ["e2"],
                                  ("111111111111", "us-east-1", "2024/08/03"): ["e3"],
                                  ("222222222222", "us-east-1", "2024/08/02"): ["e4"]}
    assert sum(len(k) for k in output.keys) == 4 and not output.has_repeats()
    assert not output.times_fixed
    # The stored columns and the source order, nothing of the scan's own bookkeeping.
    first = output.groups[HOME][0]
    names = first.schema.names
    assert names[:2] == ["_file", "_n"] and "_problem" not in names and "_key" not in names
    assert names[-3:] == ["account_partition", "region_partition", "date_partition"]
    assert (first.column("_file").to_pylist(), first.column("_n").to_pylist()) == ([0], [1])
    assert sorted(p.name for p in work.folder.iterdir()) == []  # temporary lines removed


def test_a_repeated_event_makes_the_batch_need_the_exact_check(con, work, tmp_path):
    src = tmp_path / "src"
    items = pending([write(src, "a.json", [event("e1")]), write(src, "b.json", [event("e1"), event("e2")])])
    output = read_batch(con, work, items)
    assert output.has_repeats() and [i.events for i in items] == [1, 2]


def test_odd_event_times_are_canonicalised_and_filed_under_their_utc_day(con, work, tmp_path):
    # 23:30 at UTC-2 is 01:30 UTC the next day; Logstash's milliseconds are dropped.
    path = write(tmp_path / "src", "a.json", [
        event("e1"), event("e2", eventTime="2024-08-02T23:30:00-02:00"),
        event("e3", eventTime="2024-08-02T10:00:00.000Z"), event("e4", eventTime="yesterday")])
    items = pending([path])
    output = read_batch(con, work, items)
    assert output.times_fixed and output.has_repeats()
    assert (items[0].events, items[0].bad_records) == (3, 1)
    assert stored_ids(output) == {HOME: ["e1", "e3"], ("111111111111", "us-east-1", "2024/08/03"): ["e2"]}
    fixed = output.groups[("111111111111", "us-east-1", "2024/08/03")][0]
    assert fixed.column("eventtime").to_pylist() == ["2024-08-03T01:30:00Z"]
    times = {t for s in output.groups[HOME] for t in s.column("eventtime").to_pylist()}
    assert times == {"2024-08-02T10:00:00Z"}
    assert "_problem" not in fixed.schema.names and "_key" not in fixed.schema.names


def test_records_that_cannot_be_stored_are_counted_as_bad_with_their_reason(con, work, tmp_path):
    path = write(tmp_path / "src", "a.json", [
        event("e1"), event("e2", eventName=None), event("e3", eventTime=None),
        event("e4", eventTime="2024-02-30T00:00:00Z"), event("e5", eventTime="yesterday")])
    items = pending([path])
    output = read_batch(con, work, items)
    assert (items[0].events, items[0].bad_records, items[0].status) == (1, 4, "loaded")
    assert sorted(items[0].bad_reasons) == sorted([
        "no eventName", "no eventTime", "eventTime '2024-02-30T00:00:00Z': day is out of range for month",
        "eventTime 'yesterday' is not ISO-8601"])
    assert stored_ids(output) == {HOME: ["e1"]} and not output.times_fixed


def test_a_file_of_bad_records_only_adds_no_rows(con, work, tmp_path):
    items = pending([write(tmp_path / "src", "a.json", [event("e1", eventName=None)])])
    output = read_batch(con, work, items)
    assert (output.groups, output.rows, output.keys) == ({}, Counter(), [])
    assert (items[0].events, items[0].bad_records) == (0, 1)


def test_an_empty_record_batch_changes_nothing(con, work, tmp_path, monkeypatch):
    seen = []
    take = scan.take
    monkeypatch.setattr(scan, "take", lambda batch, *a: (seen.append(batch), take(batch, *a)))
    items = pending([write(tmp_path / "src", "a.json", [event("e1")])])
    read_batch(con, work, items)
    output = scan.Output()
    take(seen[0].slice(0, 0), output, {0: items[0]})
    assert (output.groups, output.rows, output.keys) == ({}, Counter(), [])


# read_robustly: bisection


def test_a_record_without_event_id_sends_its_file_to_the_python_reader(con, work, tmp_path):
    path = write(tmp_path / "src", "a.json", [event("e1"), event(None)])
    items = pending([path])
    output = read_batch(con, work, items)
    assert (items[0].python_reader, items[0].duckdb_error) == (True, "records without eventID")
    assert (items[0].events, items[0].bad_records, items[0].status) == (2, 0, "loaded")
    assert sum(len(s) for s in output.groups[HOME]) == 2


def test_only_the_file_at_fault_is_read_again_and_no_bad_record_is_counted_twice(con, work, tmp_path):
    src = tmp_path / "src"
    a = write(src, "a.json", [event("a1", eventName=None), event("a2"), event("a3")])
    b = write(src, "b.json", [event(None)])
    c = write(src, "c.json", [event("c1")])
    items = pending([a, b, c])
    output = read_batch(con, work, items)
    assert [i.python_reader for i in items] == [False, True, False]
    assert [i.duckdb_error for i in items] == [None, "records without eventID", None]
    assert [(i.events, i.bad_records) for i in items] == [(2, 1), (1, 0), (1, 0)]
    assert items[0].bad_reasons == ["no eventName"]
    assert sum(output.rows.values()) == 4
    assert list(work.folder.iterdir()) == []


def test_a_file_duckdb_cannot_type_is_read_again_by_python_and_nothing_of_it_loads(con, work, tmp_path):
    src = tmp_path / "src"
    good = write(src, "good.json", [event("g1"), event("g2")])
    # DuckDB cannot type a list where an object is due; the Python reader then calls the file bad.
    odd = write(src, "odd.json", [event("o1", userIdentity={"sessionContext": {"attributes": [1, 2]}})])
    items = pending([good, odd])
    output = read_batch(con, work, items)
    assert [(i.status, i.events, i.python_reader) for i in items] == [("loaded", 2, False), ("bad", 0, True)]
    assert "attributes" in items[1].reason
    assert items[1].duckdb_error.startswith("Invalid Input Error: ") and " in file " not in items[1].duckdb_error
    assert stored_ids(output) == {HOME: ["g1", "g2"]}
    assert list(work.folder.iterdir()) == []


class FakeReads:
    """scan.read standing in for DuckDB: items named in `fails` fail on the fast path, items in
    `always` on both paths; every call's item names are recorded."""

    def __init__(self, fails=(), always=(), messages=("fast", "python")):
        self.fails, self.always, self.messages, self.calls = set(fails), set(always), messages, []

    def __call__(self, con, items, work, prepared=None):
        self.calls.append("".join(i.path for i in items))
        for item in items:
            if item.path in self.always or (item.path in self.fails and not item.python_reader):
                raise scan.ReadFailed(self.messages[item.python_reader])
        return scan.Output(rows=Counter({i.path: 1 for i in items}))


def test_bisection_halves_the_batch_until_the_file_at_fault(monkeypatch):
    fake = FakeReads(fails="c")
    monkeypatch.setattr(scan, "read", fake)
    items = pending(list("abcde"))
    output = scan.read_robustly(None, items, None)
    assert fake.calls == ["abcde", "ab", "cde", "c", "c", "de"]
    assert output.rows == Counter(dict.fromkeys("abcde", 1))
    assert [i.python_reader for i in items] == [False, False, True, False, False]


def test_a_file_failing_both_readers_is_reset_and_reported_with_both_errors(monkeypatch):
    monkeypatch.setattr(scan, "read", FakeReads(always="b", messages=("type error", "cast error")))
    items = pending(["a", "b"])
    items[1].events, items[1].bad_records, items[1].bad_reasons, items[1].notes = 5, 2, ["x", "y"], ["n"]
    output = scan.read_robustly(None, items, None)
    assert output.rows == Counter({"a": 1})
    bad = items[1]
    assert (bad.status, bad.events, bad.bad_records, bad.bad_reasons, bad.notes) == ("bad", 0, 0, [], [])
    assert bad.reason == "DuckDB could not read its records: cast error (first read: type error)"
    assert (bad.python_reader, bad.duckdb_error) == (True, "type error")


def test_the_first_error_is_named_whichever_way_the_two_errors_sort(monkeypatch):
    monkeypatch.setattr(scan, "read", FakeReads(always="a", messages=("cast error", "type error")))
    items = pending(["a"])
    scan.read_robustly(None, items, None)
    assert items[0].reason == "DuckDB could not read its records: type error (first read: cast error)"


def test_a_file_failing_both_readers_alike_names_the_error_once(monkeypatch):
    monkeypatch.setattr(scan, "read", FakeReads(always="a", messages=("same", "same")))
    items = pending(["a"])
    assert scan.read_robustly(None, items, None).rows == Counter()
    assert items[0].reason == "DuckDB could not read its records: same"


def test_a_python_read_file_that_fails_is_bad_at_once(monkeypatch):
    fake = FakeReads(always="a", messages=("unused", "cast error"))
    monkeypatch.setattr(scan, "read", fake)
    items = pending(["a"])
    items[0].python_reader = True  # read by the Python reader from the start: no first read to name
    scan.read_robustly(None, items, None)
    assert fake.calls == ["a"]
    assert (items[0].status, items[0].reason) == ("bad", "DuckDB could not read its records: cast error")


def test_no_items_read_nothing(monkeypatch):
    fake = FakeReads()
    monkeypatch.setattr(scan, "read", fake)
    output = scan.read_robustly(None, [], None)
    assert (fake.calls, output.rows, output.groups) == ([], Counter(), {})


# scans: line files grouped by size


def test_line_files_are_grouped_up_to_scan_bytes_and_a_bigger_one_goes_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "SCAN_BYTES", 10)
    files = []
    for n, size in enumerate([4, 6, 1, 10, 11, 3]):
        path = tmp_path / f"{n}.ndjson"
        path.write_bytes(b"x" * size)
        files.append((path, size))
    sizes = [[length for _, length in group] for group in scan.scans(files)]
    assert sizes == [[4, 6], [1], [10], [11], [3]]
    monkeypatch.setattr(tuning, "SCAN_BYTES", 7)
    four, three = files[0], files[5]
    assert [[length for _, length in group] for group in scan.scans([four, four])] == [[4], [4]]  # 8 > 7
    assert [[length for _, length in group] for group in scan.scans([three, three])] == [[3, 3]]  # 6 <= 7
    assert scan.scans([]) == []


# scan: memory for long lines, and which errors are the files'


class Recording:
    """A connection that records the statements scan executes (its SET memory_limit)."""

    def __init__(self, con):
        self.con, self.statements = con, []

    def execute(self, statement):
        self.statements.append(statement)
        return self.con.execute(statement)

    def sql(self, *args, **kwargs):
        return self.con.sql(*args, **kwargs)


def line_file(tmp_path, records, name="0.ndjson") -> tuple:
    path = tmp_path / name
    text = json.dumps({"_file": 0, "_acct": None, "_region": None, "Records": records}) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scan_of_ordinary_lines_leaves_the_memory_limit_alone(con, tmp_path):
    recording, output = Recording(con), scan.Output()
    path = line_file(tmp_path, [event("e1")])
    scan.scan(recording, [(path, 300)], output, {0: Pending("a", 0, 0)})
    assert recording.statements == [] and output.rows == Counter({"a": 1})


def test_a_scan_of_a_long_line_raises_the_memory_limit_for_that_scan_only(con, tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "MAX_OBJECT_SIZE", 1000)
    monkeypatch.setattr(tuning, "INGEST_MEMORY_LIMIT", 600 * MIB)  # 629_145_600
    recording, output = Recording(con), scan.Output()
    path = line_file(tmp_path, [event("e1")])
    longest = MIB + 1500  # as declared for the line file
    # room = the longest line + 1 MiB = 2_098_652; six rooms (12_591_912) on top of the ingest's limit.
    scan.scan(recording, [(path, longest), (line_file(tmp_path, [event("e2")], "1.ndjson"), 20)], output,
              {0: Pending("a", 0, 0)})
    assert recording.statements == ["SET memory_limit = '641737512B'", "SET memory_limit = '629145600B'"]
    assert output.rows == Counter({"a": 2})
    # The limit comes back even when the scan fails.
    broken = tmp_path / "broken.ndjson"
    broken.write_text("{not json\n", encoding="utf-8")
    recording.statements.clear()
    with pytest.raises(scan.ReadFailed):
        scan.scan(recording, [(broken, longest)], scan.Output(), {0: Pending("a", 0, 0)})
    assert recording.statements == ["SET memory_limit = '641737512B'", "SET memory_limit = '629145600B'"]


@pytest.mark.parametrize("error", [
    duckdb.InvalidInputException('Invalid Input Error: bad value in file "/w/b-1-0-0.ndjson", in line 7\nmore'),
    pa.ArrowInvalid('Invalid Input Error: bad value in file "/w/b-1-0-0.ndjson", in line 7'),
    OSError('Invalid Input Error: bad value in file "/w/b-1-0-0.ndjson", in line 7'),
])
def test_errors_about_the_files_become_read_failed_with_duckdbs_first_line(con, tmp_path, monkeypatch, error):
    def fail(*args):
        raise error

    monkeypatch.setattr(scan, "take", fail)
    with pytest.raises(scan.ReadFailed) as raised:
        scan.scan(con, [(line_file(tmp_path, [event("e1")]), 300)], scan.Output(), {0: Pending("a", 0, 0)})
    assert str(raised.value) == "Invalid Input Error: bad value"


@pytest.mark.parametrize("error", [duckdb.InterruptException("stop"), duckdb.FatalException("gone")])
def test_an_interrupt_or_a_fatal_error_is_never_blamed_on_the_files(con, tmp_path, monkeypatch, error):
    def fail(*args):
        raise error

    monkeypatch.setattr(scan, "take", fail)
    with pytest.raises(type(error)):
        scan.scan(con, [(line_file(tmp_path, [event("e1")]), 300)], scan.Output(), {0: Pending("a", 0, 0)})


def test_duckdb_reason_keeps_the_first_line_without_the_temporary_file():
    assert scan._duckdb_reason('  Conversion Error: x in file "/w/a b.ndjson", in line 12\nLINE 1: ...\n') == \
        "Conversion Error: x"
    assert scan._duckdb_reason("one line") == "one line"
    assert scan._duckdb_reason("") == "" and scan._duckdb_reason("  ") == "  "


# _file_by_partition


def partition_rows(rows: list[tuple]) -> pa.RecordBatch:
    ids, accounts, regions, days = zip(*rows, strict=True)
    return pa.record_batch({"id": list(ids), "account_partition": list(accounts),
                            "region_partition": list(regions), "date_partition": list(days)})


def ids_of(groups) -> dict:
    return {key: [s.column("id").to_pylist() for s in slices] for key, slices in groups.items()}


def test_rows_are_cut_where_any_partition_column_changes():
    rows = partition_rows([
        ("r0", "A", "us", "d1"), ("r1", "A", "us", "d1"),
        ("r2", "A", "eu", "d1"),  # region alone changes
        ("r3", "B", "eu", "d1"),  # account alone
        ("r4", "B", "eu", "d2"),  # day alone
        ("r5", "B", "eu", None),  # a day to none
        ("r6", "B", "eu", None),  # none to none: the same partition
        ("r7", "B", None, None),  # a region to none
        ("r8", "A", "us", "d1"),  # back to the first partition: a second slice of it
    ])
    earlier = pa.record_batch({"id": ["old"]})
    groups = {("A", "us", "d1"): [earlier]}
    scan._file_by_partition(rows, groups)
    assert ids_of(groups) == {
        ("A", "us", "d1"): [["old"], ["r0", "r1"], ["r8"]], ("A", "eu", "d1"): [["r2"]],
        ("B", "eu", "d1"): [["r3"]], ("B", "eu", "d2"): [["r4"]], ("B", "eu", ""): [["r5", "r6"]],
        ("B", "", ""): [["r7"]]}


def test_none_to_a_value_is_a_change_and_one_or_two_rows_are_filed_too():
    groups: dict = {}
    scan._file_by_partition(partition_rows([("r0", None, "us", "d1"), ("r1", "A", "us", "d1")]), groups)
    assert ids_of(groups) == {("", "us", "d1"): [["r0"]], ("A", "us", "d1"): [["r1"]]}
    groups = {}
    scan._file_by_partition(partition_rows([("r0", "A", "us", "d1")]), groups)
    assert ids_of(groups) == {("A", "us", "d1"): [["r0"]]}
    groups = {}
    scan._file_by_partition(partition_rows([("r0", "A", "us", "d1"), ("r1", "A", "us", "d1")]), groups)
    assert ids_of(groups) == {("A", "us", "d1"): [["r0", "r1"]]}
