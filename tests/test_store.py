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

import pytest

from trailbook import store

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
    assert sorted(reasons) == sorted(
        ["corrupt.json.gz", "truncated.json.gz", "truncated.json", "empty.json", "not_cloudtrail.jsonl"])
    assert reasons["corrupt.json.gz"].startswith("corrupt or truncated gzip")
    assert reasons["truncated.json.gz"].startswith("corrupt or truncated gzip")
    assert reasons["truncated.json"].startswith("malformed or truncated JSON")
    assert reasons["empty.json"] == "empty file"
    assert reasons["not_cloudtrail.jsonl"].startswith("no usable CloudTrail event in 3 records")
    assert report.events_loaded == 46
    assert any(name in line for line in report.summary() for name in reasons)
    statuses = dict(query(tmp_path, "SELECT status, count(*) FROM ingested_files GROUP BY status"))
    assert statuses == {"bad": 5, "loaded": 3, "digest": 1}

    again = ingest([FORMATS / "bad", FORMATS / "s3"], tmp_path)
    assert (again.files_new, again.files_skipped_unchanged, again.bad_files) == (0, 9, [])
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


def test_event_time_normalised_and_sorted(tmp_path):
    ingest(FORMATS, tmp_path)
    times = [t for (t,) in query(tmp_path, "SELECT eventtime FROM cloudtrail ORDER BY rowid")]
    assert len(times) == 286 and all(ISO.fullmatch(t) for t in times)
    assert times == sorted(times)  # one batch, written in eventtime order
    mordor = query(tmp_path, "SELECT min(eventtime), max(eventtime) FROM cloudtrail "
                             "WHERE sourceipaddress = '1.2.3.4' AND date_partition = '2020/09/14'")
    lines = (FORMATS / "ndjson/ec2_proxy_s3_exfiltration_2020-09-14011940.json").read_text().splitlines()
    stamps = sorted(json.loads(line)["@timestamp"][:19] + "Z" for line in lines)
    assert mordor == [(stamps[0], stamps[-1])]


def test_whole_fixture_tree_summary(tmp_path):
    report = ingest(FORMATS, tmp_path)
    assert (report.files_seen, report.files_ignored, report.digest_files, len(report.bad_files)) == (24, 1, 1, 5)
    assert report.events_read == 300 and report.events_loaded == 286
    # overlap 10, wrappers 3, and the casekeys file repeats one OTRF ListObjects event
    assert report.duplicates_removed == 14
    data = report.to_dict()
    assert json.loads(json.dumps(data))["events_loaded"] == 286
    assert data["bad_files"][0][0].endswith(".json.gz") or data["bad_files"][0][0].endswith(".json")


def test_raw_view_sql_matches_the_store(tmp_path):
    ingest(FORMATS / "s3", tmp_path)
    glob = str(FORMATS / "s3/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz")
    con = store.connect(tmp_path / "store")
    try:
        cols = "eventid, eventtime, eventname, account_partition, region_partition, date_partition, " \
               "requestparameters, useridentity"
        stored = con.execute(f"SELECT {cols} FROM cloudtrail ORDER BY eventid").fetchall()
        raw = con.execute(f"SELECT {cols} FROM ({store.raw_view_sql(glob)}) ORDER BY eventid").fetchall()
        described = [r[:2] for r in con.execute(f"DESCRIBE {store.raw_view_sql(glob)}").fetchall()]
        table = [r[:2] for r in con.execute("DESCRIBE cloudtrail").fetchall()]
    finally:
        con.close()
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


def test_file_over_the_batch_object_size_is_read_alone(tmp_path, monkeypatch):
    sizes = sorted(len(gzip.decompress(p.read_bytes())) for p in (FORMATS / "s3").rglob("*_CloudTrail_*.json.gz"))
    monkeypatch.setattr(store, "MAX_OBJECT_SIZE", sizes[1] - 1)  # the two big files exceed it
    alone = []
    stage = store._stage

    def spy(con, paths, source, max_object_size=stage.__defaults__[0]):
        if max_object_size != stage.__defaults__[0]:
            alone.append((Path(paths[0]).name, max_object_size))
        return stage(con, paths, source, max_object_size)

    monkeypatch.setattr(store, "_stage", spy)
    report = ingest(FORMATS / "s3", tmp_path)
    assert (report.events_loaded, report.bad_files) == (46, [])
    assert len(alone) == 2 and all(room > sizes[1] for _, room in alone)


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
