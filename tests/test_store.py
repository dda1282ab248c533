"""The DuckDB store: exact counts per format, dedupe, incremental runs, partitions, blobs.

Fixtures: tests/fixtures/formats (built by make_fixtures.py; attribution in ATTRIBUTION.md).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from trailbook import store
from trailbook.store import pipeline, scan, tuning
from trailbook.store import sql as store_sql

FORMATS = Path(__file__).parent / "fixtures" / "formats"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def ingest(source, tmp_path: Path, **kwargs) -> store.IngestReport:
    return store.ingest(source, tmp_path / "store", progress=False, **kwargs)


def query(tmp_path: Path, sql: str, params=None) -> list[tuple]:
    con = store.connect(tmp_path / "store")
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def count(tmp_path: Path) -> int:
    return query(tmp_path, "SELECT count(*) FROM cloudtrail")[0][0]


def records_of(path: Path) -> list[dict]:
    return json.loads(gzip.decompress(path.read_bytes()))["Records"]


@pytest.mark.parametrize("folder, files, events", [
    ("s3", 4, 46),          # 3 Records .json.gz + 1 digest
    ("org", 1, 3),
    ("plain", 2, 8),        # compact .json (5) + pretty-printed .json (3)
    ("array", 2, 6),        # Stratus JSON arrays
    ("ndjson", 1, 103),     # OTRF Logstash NDJSON: every one of its 103 events
    ("lookup", 1, 10),      # aws cloudtrail lookup-events output
    ("scenario", 1, 12),    # Panther scenario: eventID "1" on all 12, all kept
])
def test_each_format_loads_exact_counts(tmp_path, folder, files, events):
    report = ingest(FORMATS / folder, tmp_path)
    assert (report.files_seen, report.files_new) == (files, files)
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (events, events, 0)
    assert report.bad_files == [] and report.bad_records == 0
    assert count(tmp_path) == events


def test_jsonl_wrappers(tmp_path):
    report = ingest(FORMATS / "wrapped", tmp_path)
    # awsdocs 16 + TrailDiscover 20 + Panther 7 usable (4 tests lack eventTime).
    assert report.events_read == 16 + 20 + 7
    assert report.bad_records == 4
    # The AWS docs reuse one eventID+time+name for two sign-in examples, twice, and two Panther
    # tests repeat one event (same eventID, time and name): 3 duplicates by the store's key.
    assert report.duplicates_removed == 3
    assert count(tmp_path) == 43 - 3
    reason = query(tmp_path, "SELECT reason FROM ingested_files WHERE path LIKE '%panther%'")[0][0]
    assert reason.startswith("4 bad records: line 5: log: no eventTime")


def test_digest_skipped_and_recorded(tmp_path):
    report = ingest(FORMATS / "s3", tmp_path)
    assert report.digest_files == 1
    rows = query(tmp_path, "SELECT status, events FROM ingested_files WHERE path LIKE '%CloudTrail-Digest%'")
    assert rows == [("digest", 0)]


def test_bad_files_reported_by_name_and_run_continues(tmp_path):
    report = ingest([FORMATS / "bad", FORMATS / "s3"], tmp_path, batch_files=3)
    reasons = {Path(path).name: reason for path, reason in report.bad_files}
    assert sorted(reasons) == sorted(["corrupt.json.gz", "truncated.json.gz", "truncated.json", "not_cloudtrail.jsonl"])
    assert reasons["corrupt.json.gz"].startswith("corrupt or truncated gzip")
    assert reasons["truncated.json.gz"].startswith("corrupt or truncated gzip")
    assert reasons["truncated.json"].startswith("malformed or truncated JSON")
    # A zero-byte file is skipped unopened and named, not recorded (it may fill up later).
    assert [(Path(p).name, why) for p, why in report.skipped_files] == [("empty.json", "empty (0 bytes)")]
    assert reasons["not_cloudtrail.jsonl"].startswith("no usable CloudTrail event in 3 records")
    assert report.events_loaded == 46
    assert any(name in line for line in report.summary() for name in reasons)
    statuses = dict(query(tmp_path, "SELECT status, count(*) FROM ingested_files GROUP BY status"))
    assert statuses == {"bad": 4, "loaded": 3, "digest": 1}

    again = ingest([FORMATS / "bad", FORMATS / "s3"], tmp_path)
    assert (again.files_new, again.files_skipped_unchanged, again.bad_files) == (0, 8, [])
    assert [Path(p).name for p, _ in again.skipped_files] == ["empty.json"]
    assert sorted(Path(p).name for p, _ in again.previously_bad_files) == sorted(reasons)
    assert any("previously bad" in line for line in again.summary())


def test_bad_records_in_a_records_file(tmp_path):
    source = next((FORMATS / "org").rglob("*.json.gz"))
    events = records_of(source)
    no_time = {k: v for k, v in events[0].items() if k != "eventTime"}
    mixed = tmp_path / "src" / "mixed.json"
    mixed.parent.mkdir()
    mixed.write_text(json.dumps({"Records": events + [no_time, 42]}))
    report = ingest(mixed, tmp_path)
    assert (report.events_loaded, report.bad_records, report.bad_files) == (3, 2, [])


def test_duplicates_within_one_batch(tmp_path):
    report = ingest(FORMATS / "overlap", tmp_path)  # account trail 30 + org trail 36, 10 shared
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (66, 56, 10)
    assert query(tmp_path, "SELECT count(DISTINCT eventid) FROM cloudtrail")[0][0] == 56


def test_duplicates_against_the_store(tmp_path):
    account, org = sorted((FORMATS / "overlap").rglob("*.json.gz"), key=lambda p: "o-" in str(p))
    first = ingest(account, tmp_path)
    assert (first.events_loaded, first.duplicates_removed) == (30, 0)
    second = ingest(org, tmp_path)
    assert (second.events_read, second.events_loaded, second.duplicates_removed) == (36, 26, 10)
    one_run = ingest(FORMATS / "overlap", tmp_path / "other", batch_files=1)  # across batches
    assert (one_run.events_loaded, one_run.duplicates_removed) == (56, 10)
    assert count(tmp_path) == 56


def test_incremental_reads_only_new_or_changed_files(tmp_path):
    source = tmp_path / "trail"
    shutil.copytree(FORMATS / "s3", source)
    first = ingest(source, tmp_path)
    assert (first.files_new, first.events_loaded) == (4, 46)

    again = ingest(source, tmp_path)
    assert (again.files_new, again.files_skipped_unchanged, again.events_read) == (0, 4, 0)

    org_file = next((FORMATS / "org").rglob("*.json.gz"))
    added = source / "AWSLogs" / org_file.relative_to(FORMATS / "org" / "AWSLogs")
    added.parent.mkdir(parents=True)
    shutil.copyfile(org_file, added)
    third = ingest(source, tmp_path)
    assert (third.files_new, third.files_skipped_unchanged, third.events_loaded) == (1, 4, 3)

    # A changed file is read again; what was already stored is not duplicated.
    changed = next(source.rglob("*_CloudTrail_eu-west-2r_*.json.gz"))
    events = records_of(changed) + records_of(org_file)[:1]
    changed.write_bytes(gzip.compress(json.dumps({"Records": events}).encode()))
    fourth = ingest(source, tmp_path)
    assert (fourth.files_new, fourth.events_read, fourth.events_loaded, fourth.duplicates_removed) == (1, 2, 0, 2)
    assert count(tmp_path) == 49


def test_blobs_are_verbatim_json_text_with_case_differing_keys(tmp_path):
    ingest(FORMATS / "casekeys", tmp_path)
    source = {e["eventID"]: e for e in records_of(next((FORMATS / "casekeys").rglob("*.json.gz")))}
    rows = query(tmp_path, "SELECT eventid, requestparameters, additionaleventdata, responseelements "
                           "FROM cloudtrail")
    assert len(rows) == 2
    for eventid, request, additional, response in rows:
        assert json.loads(request) == source[eventid]["requestParameters"]
        assert list(json.loads(request)) == list(source[eventid]["requestParameters"])  # key order
        expected = source[eventid].get("additionalEventData")
        assert (json.loads(additional) if additional else None) == expected
        assert response is None and source[eventid]["responseElements"] is None  # JSON null -> NULL
    texts = [request for _, request, _, _ in rows]
    assert any('"Host":' in t for t in texts) and any('"host":' in t for t in texts)
    typed = query(tmp_path, "SELECT DISTINCT typeof(requestparameters) FROM cloudtrail")
    assert typed == [("VARCHAR",)]


def test_struct_access_and_types(tmp_path):
    ingest(FORMATS / "s3", tmp_path)
    events = [e for p in (FORMATS / "s3").rglob("*_CloudTrail_*.json.gz") for e in records_of(p)]
    assert len(events) == 46
    expected = sum(1 for e in events
                   if e["userIdentity"].get("sessionContext", {}).get("attributes", {})
                   .get("mfaAuthenticated") == "false")
    assert expected == 2
    rows = query(tmp_path, "SELECT count(*) FROM cloudtrail "
                           "WHERE useridentity.sessioncontext.attributes.mfaauthenticated = 'false'")
    assert rows == [(expected,)]
    rows = query(tmp_path, "SELECT useridentity.type, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 1")
    assert rows == [("AssumedRole", 2), ("IAMUser", 44)]
    tls = query(tmp_path, "SELECT tlsdetails.tlsversion, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 1")
    versions = sorted({e["tlsDetails"]["tlsVersion"] for e in events})
    assert tls == [(v, sum(e["tlsDetails"]["tlsVersion"] == v for e in events)) for v in versions]


def test_resources_list_of_structs(tmp_path):
    ingest(FORMATS / "org", tmp_path)
    events = records_of(next((FORMATS / "org").rglob("*.json.gz")))
    expected = sorted((r["ARN"], r["accountId"], r["type"]) for e in events for r in e.get("resources") or [])
    assert len(expected) == 2  # CloudTrail writes "ARN"; the column is resources[].arn
    rows = query(tmp_path, "SELECT res.arn, res.accountid, res.type "
                           "FROM cloudtrail, unnest(resources) AS r(res) ORDER BY ALL")
    assert rows == expected


def test_partition_columns(tmp_path):
    ingest([FORMATS / "s3", FORMATS / "org", FORMATS / "fallback"], tmp_path)
    rows = query(tmp_path, "SELECT account_partition, region_partition, date_partition, count(*) "
                           "FROM cloudtrail GROUP BY ALL ORDER BY ALL")
    assert rows == [
        ("017622104382", "us-north-2r", "2024/08/02", 45),
        ("111122223333", "ap-northeast-1", "2022/09/25", 1),   # account from the path
        ("307578594326", "euiso-south-3r", "2024/08/02", 3),   # org trail
        ("562283505220", "eu-west-2r", "2024/08/02", 1),
    ]
    fallback = query(tmp_path, "SELECT eventtime, recipientaccountid, useridentity FROM cloudtrail "
                               "WHERE account_partition = '111122223333'")
    assert fallback == [("2022-09-25T16:16:37Z", None, None)]  # "2022-09-25 16:16:37" upstream


def test_event_time_normalised(tmp_path):
    ingest(FORMATS, tmp_path)
    times = [t for (t,) in query(tmp_path, "SELECT eventtime FROM cloudtrail")]
    assert len(times) == 286 and all(ISO.fullmatch(t) for t in times)
    mordor = query(tmp_path, "SELECT min(eventtime), max(eventtime) FROM cloudtrail "
                             "WHERE sourceipaddress = '1.2.3.4' AND date_partition = '2020/09/14'")
    lines = (FORMATS / "ndjson/ec2_proxy_s3_exfiltration_2020-09-14011940.json").read_text().splitlines()
    stamps = sorted(json.loads(line)["@timestamp"][:19] + "Z" for line in lines)
    assert mordor == [(stamps[0], stamps[-1])]


def test_whole_fixture_tree_summary(tmp_path):
    report = ingest(FORMATS, tmp_path)
    assert (report.files_seen, report.files_ignored, report.digest_files, len(report.bad_files)) == (24, 1, 1, 4)
    assert len(report.skipped_files) == 1  # bad/empty.json, zero bytes
    assert report.events_read == 300 and report.events_loaded == 286
    # overlap 10, wrappers 3, and the casekeys file repeats one OTRF ListObjects event
    assert report.duplicates_removed == 14
    data = report.to_dict()
    assert json.loads(json.dumps(data))["events_loaded"] == 286
    assert sorted(Path(path).name for path, _ in data["bad_files"]) == \
        sorted(["corrupt.json.gz", "truncated.json.gz", "truncated.json", "not_cloudtrail.jsonl"])


def test_raw_view_sql_matches_the_store(tmp_path):
    ingest(FORMATS / "s3", tmp_path)
    glob = str(FORMATS / "s3/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz")
    con = store.connect(tmp_path / "store")
    try:
        cols = "eventid, eventtime, eventname, account_partition, region_partition, date_partition, " \
               "requestparameters, useridentity"
        stored = con.execute(f"SELECT {cols} FROM cloudtrail ORDER BY eventid").fetchall()
        table = [r[:2] for r in con.execute("DESCRIBE cloudtrail").fetchall()]
    finally:
        con.close()
    # The raw view on a connection of its own, as LocalEngine.over_raw_files makes it: its JSON
    # reader buffers RAW_MAX_OBJECT_SIZE twice per thread, past a store reader's 1 GiB cap.
    raw_con = duckdb.connect()
    try:
        raw_con.execute("SET TimeZone = 'UTC'")
        raw = raw_con.execute(f"SELECT {cols} FROM ({store.raw_view_sql(glob)}) ORDER BY eventid").fetchall()
        described = [r[:2] for r in raw_con.execute(f"DESCRIBE {store.raw_view_sql(glob)}").fetchall()]
    finally:
        raw_con.close()
    assert len(stored) == 46 and raw == stored
    assert described == table


def test_connect_read_only_from_several_processes(tmp_path):
    ingest(FORMATS / "org", tmp_path)
    con = store.connect(tmp_path / "store")
    try:
        assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
        code = ("import sys; from trailbook import store; "
                "c = store.connect(sys.argv[1]); print(c.execute('SELECT count(*) FROM cloudtrail').fetchone()[0])")
        other = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store")],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip() == "3"
    finally:
        con.close()


def test_connect_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="trailbook ingest"):
        store.connect(tmp_path / "none")


def test_progress_bar_goes_to_stderr_and_can_be_disabled(tmp_path, capsys):
    store.ingest(FORMATS / "org", tmp_path / "a", progress=True)
    shown = capsys.readouterr()
    assert "ingest" in shown.err and "1/1" in shown.err and shown.out == ""
    store.ingest(FORMATS / "org", tmp_path / "b", progress=False)
    assert capsys.readouterr().err == ""


def test_file_over_the_batch_object_size_gets_room(tmp_path, monkeypatch):
    sizes = sorted(len(gzip.decompress(p.read_bytes())) for p in (FORMATS / "s3").rglob("*_CloudTrail_*.json.gz"))
    monkeypatch.setattr(tuning, "MAX_OBJECT_SIZE", sizes[1] - 1)  # the two big files exceed it
    rooms = []
    batch_sql = store_sql.batch_sql

    def spy(max_object_size):
        rooms.append(max_object_size)
        return batch_sql(max_object_size)

    monkeypatch.setattr(store_sql, "batch_sql", spy)
    report = ingest(FORMATS / "s3", tmp_path)
    assert (report.events_loaded, report.bad_files) == (46, [])
    assert rooms and all(room > sizes[-1] for room in rooms)


def _compact(records) -> bytes:
    return json.dumps({"Records": records}, separators=(",", ":")).encode()


def test_a_file_duckdb_cannot_type_is_bisected_out_and_read_by_python(tmp_path):
    """A compact Records file whose record is not an object fails DuckDB's scan of the batch; the
    batch is bisected, the file is re-read by the Python reader, and every other file still loads."""
    source = tmp_path / "src"
    source.mkdir()
    good = records_of(next((FORMATS / "org").rglob("*.json.gz")))
    for n in range(5):
        (source / f"good{n}.json").write_bytes(_compact([dict(r, eventID=f"{r['eventID']}-{n}") for r in good]))
    (source / "mixed.json").write_bytes(_compact(good[:1] + [42]))
    report = ingest(source, tmp_path)
    assert report.bad_files == [] and report.bad_records == 1
    assert report.events_loaded == 5 * 3 + 1 and report.duplicates_removed == 0
    assert [Path(p).name for p, _ in report.files_with_bad_records] == ["mixed.json"]
    assert "not an object" in report.files_with_bad_records[0][1]
    assert count(tmp_path) == 16


def test_records_duckdb_cannot_type_make_the_file_bad_not_the_run(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    good = records_of(next((FORMATS / "org").rglob("*.json.gz")))
    (source / "good.json").write_bytes(_compact(good))
    # Both readers see an object, but the values cannot take the column types.
    odd = dict(good[0], eventID="odd", userIdentity={"sessionContext": {"attributes": [1, 2]}})
    (source / "odd.json").write_bytes(_compact([odd]))
    report = ingest(source, tmp_path)
    reasons = {Path(p).name: r for p, r in report.bad_files}
    assert list(reasons) == ["odd.json"] and "attributes" in reasons["odd.json"]
    assert report.events_loaded == 3 and count(tmp_path) == 3


def test_odd_event_times_in_a_fast_file_are_canonicalised_or_reported(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    good = records_of(next((FORMATS / "org").rglob("*.json.gz")))
    offset = dict(good[0], eventID="o1", eventTime="2024-08-02T10:53:24.500+02:00")
    junk = dict(good[1], eventID="o2", eventTime="yesterday")
    (source / "times.json").write_bytes(_compact([offset, junk, good[2]]))
    report = ingest(source, tmp_path)
    assert (report.events_loaded, report.bad_records) == (2, 1)
    assert "not ISO-8601" in report.files_with_bad_records[0][1]
    rows = dict(query(tmp_path, "SELECT eventid, eventtime || ' ' || date_partition FROM cloudtrail"))
    assert rows["o1"] == "2024-08-02T08:53:24Z 2024/08/02"


def test_an_interrupted_ingest_leaves_nothing_readers_see(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "commit", crash)  # after the Parquet files are written
    with pytest.raises(KeyboardInterrupt):
        ingest(FORMATS / "s3", tmp_path)
    orphans = list((tmp_path / "store" / store.DATA_DIR).rglob("*.parquet"))
    assert orphans and count(tmp_path) == 0
    monkeypatch.undo()
    report = ingest(FORMATS / "s3", tmp_path)
    assert report.events_loaded == 46 and count(tmp_path) == 46
    assert not any(p.exists() for p in orphans)
    assert not (tmp_path / "store" / store.WORK_DIR).exists()


def test_readers_take_a_snapshot_and_do_not_block_an_ingest(tmp_path):
    account, org = sorted((FORMATS / "overlap").rglob("*.json.gz"), key=lambda p: "o-" in str(p))
    ingest(account, tmp_path)
    reader = store.connect(tmp_path / "store")
    try:
        ingest(org, tmp_path)  # would fail on a lock if the reader held the store
        assert reader.execute("SELECT count(*) FROM cloudtrail").fetchone()[0] == 30
    finally:
        reader.close()
    assert count(tmp_path) == 56


def test_parquet_layout_follows_the_partitions(tmp_path):
    ingest(FORMATS / "s3", tmp_path)
    root = tmp_path / "store"
    parts = store.data_files(root)
    assert parts and store.store_bytes(root) > 0
    for part in parts:
        account, region, yyyy, mm, dd = part.relative_to(root / store.DATA_DIR).parts[:5]
        values = pq.read_table(part, columns=store.schema.PARTITION_NAMES).to_pylist()
        assert {(v["account_partition"], v["region_partition"], v["date_partition"]) for v in values} == \
            {(account, region, f"{yyyy}/{mm}/{dd}")}


def test_files_with_bad_records_are_named_with_every_reason(tmp_path):
    good = {"eventVersion": "1.08", "eventTime": "2024-08-02T08:53:24Z", "eventName": "ListUsers",
            "eventSource": "iam.amazonaws.com", "eventID": "e1", "awsRegion": "us-east-1",
            "recipientAccountId": "111111111111", "userIdentity": {"type": "IAMUser"}}
    source = tmp_path / "src"
    source.mkdir()
    path = source / "mixed.json"
    path.write_text(json.dumps({"Records": [good, {"eventName": "NoTime"}, "not an object",
                                            {"eventTime": "2024-08-02T08:53:25Z"}]}))
    report = ingest(source, tmp_path)
    assert report.events_loaded == 1 and report.bad_records == 3
    assert [p for p, _ in report.files_with_bad_records] == [str(path)]
    reason = report.files_with_bad_records[0][1]
    assert "no eventTime" in reason and "not an object" in reason and "no eventName" in reason
    assert any(str(path) in line for line in report.summary())
    assert report.to_dict()["files_with_bad_records"] == [[str(path), reason]]


def test_python_read_files_cut_into_many_lines_keep_source_order(tmp_path, monkeypatch):
    """A file the Python reader reads is fed to DuckDB in lines of TEMP_LINE_BYTES; a repeated
    event keeps its first copy even when the copies sit in different lines."""
    monkeypatch.setattr(tuning, "TEMP_LINE_BYTES", 1500)  # about one record per line
    events = records_of(next((FORMATS / "org").rglob("*.json.gz")))
    first = dict(events[0], userAgent="first copy")
    again = dict(events[0], userAgent="second copy")
    source = tmp_path / "src"
    source.mkdir()
    (source / "pretty.json").write_text(json.dumps({"Records": [first] + events[1:] + [again]}, indent=2))
    report = ingest(source, tmp_path)
    assert (report.events_read, report.events_loaded, report.duplicates_removed) == (4, 3, 1)
    agents = query(tmp_path, "SELECT useragent FROM cloudtrail WHERE eventid = ?", [events[0]["eventID"]])
    assert agents == [("first copy",)]
    ndjson = ingest(FORMATS / "ndjson", tmp_path / "nd")
    assert (ndjson.events_loaded, ndjson.bad_records) == (103, 0)


def test_a_big_python_read_file_is_typed_in_several_scans(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "TEMP_LINE_BYTES", 4096)
    monkeypatch.setattr(tuning, "SCAN_BYTES", 64 * 1024)
    scans = []
    one_scan = scan.scan
    monkeypatch.setattr(scan, "scan", lambda con, files, *a: (scans.append(files), one_scan(con, files, *a)))
    template = records_of(next((FORMATS / "org").rglob("*.json.gz")))[0]
    events = [dict(template, eventID=f"big-{n}") for n in range(600)]
    source = tmp_path / "src"
    source.mkdir()
    (source / "pretty.json").write_text(json.dumps({"Records": events}, indent=2))
    report = ingest(source, tmp_path)
    assert (report.events_loaded, report.bad_files) == (600, [])
    assert len(scans) > 1 and count(tmp_path) == 600


def test_impossible_event_times_are_bad_records_on_both_paths(tmp_path):
    template = records_of(next((FORMATS / "org").rglob("*.json.gz")))[0]
    times = ["2024-02-30T00:00:00Z", "2024-01-01T24:61:99Z", "abcd-ef-ghTij:kl:mnZ", "../a-..-..T00:00:00Z"]
    events = [dict(template, eventID=f"t{n}", eventTime=t) for n, t in enumerate(times)] + [template]
    for name, text in (("compact", _compact(events)), ("pretty", json.dumps({"Records": events}, indent=1).encode())):
        source = tmp_path / name / "src"
        source.mkdir(parents=True)
        (source / "times.json").write_bytes(text)
        report = ingest(source, tmp_path / name)
        assert (report.events_loaded, report.bad_records) == (1, 4), name
        parts = store.data_files(tmp_path / name / "store")
        assert all(p.resolve().is_relative_to((tmp_path / name / "store" / store.DATA_DIR).resolve()) for p in parts)


def test_dedupe_does_not_depend_on_batch_boundaries(tmp_path):
    """One event without recipientAccountId, delivered under two accounts' paths, lands in two
    partitions; it is kept in both whether the files share a batch or not."""
    template = records_of(next((FORMATS / "org").rglob("*.json.gz")))[0]
    event = {k: v for k, v in template.items() if k != "recipientAccountId"}
    event["userIdentity"] = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    results = []
    for batch_files in (2048, 1):
        source = tmp_path / f"b{batch_files}" / "src"
        for account in ("111111111111", "222222222222"):
            folder = source / "AWSLogs" / account / "CloudTrail" / "us-east-1" / "2024" / "08" / "02"
            folder.mkdir(parents=True)
            (folder / f"{account}_CloudTrail_us-east-1_x.json.gz").write_bytes(gzip.compress(_compact([event])))
        report = ingest(source, tmp_path / f"b{batch_files}", batch_files=batch_files)
        results.append((report.events_loaded, report.duplicates_removed))
    assert results == [(2, 0), (2, 0)]


def test_a_reader_is_capped_at_1_gib_and_spills_to_its_own_folder_removed_on_close(tmp_path, monkeypatch):
    """README: a reader's DuckDB takes at most 1 GiB and spills past it; its spill folder is its own
    (never `.tmp` in the working folder) and goes with the connection."""
    ingest(FORMATS / "org", tmp_path)
    monkeypatch.chdir(tmp_path)
    con = store.connect(tmp_path / "store")
    folder = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("1.0 GiB",)
        assert folder.is_absolute() and not folder.is_relative_to(tmp_path)
        other = store.connect(tmp_path / "store")
        other_folder = other.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        other.close()
        assert Path(other_folder) != folder  # two readers never share spill files
        con.execute("SET memory_limit = '64MB'")  # force a spill: a sort of ~150 MB of text
        sorted_rows = con.execute("SELECT count(*), min(h) FROM (SELECT md5(range::VARCHAR) || "
                                  "md5((range + 1)::VARCHAR) AS h FROM range(2000000) ORDER BY h)").fetchone()
        assert sorted_rows[0] == 2_000_000
        assert folder.is_dir() and any(folder.iterdir())
    finally:
        con.close()
    assert not folder.exists()
    assert not (tmp_path / ".tmp").exists()
