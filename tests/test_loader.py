"""The loader reads every CloudTrail shape, with exact counts on real public events.

Fixtures: tests/fixtures/formats (built by make_fixtures.py; attribution in ATTRIBUTION.md).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path, PurePosixPath

import pytest

from trailbook import loader

FORMATS = Path(__file__).parent / "fixtures" / "formats"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def by_name(result: loader.LoadResult) -> dict[str, loader.FileRead]:
    return {Path(f.path).name: f for f in result.files}


def test_s3_records_json_gz_in_awslogs_layout():
    result = loader.load(FORMATS / "s3")
    assert len(result.events) == 46  # 30 + 15 steal-instance-credentials, 1 console login
    records = [f for f in result.files if f.shape == "records"]
    assert sorted(f.path.endswith(".json.gz") for f in records) == [True, True, True]
    assert result.digest_files and all("CloudTrail-Digest" in p for p in result.digest_files)
    assert len(result.digest_files) == 1
    assert result.bad_files == [] and result.bad_records == 0
    ids = [e["eventID"] for e in result.events]
    assert len(set(ids)) == 46


def test_records_file_keeps_events_verbatim():
    path = next((FORMATS / "s3").rglob("*_CloudTrail_eu-west-2r_*.json.gz"))
    source = json.loads(gzip.decompress(path.read_bytes()))["Records"]
    read = loader.read_file(path)
    assert read.shape == "records"
    assert read.events == source  # already canonical: nothing added, nothing lost


def test_org_trail_layout():
    result = loader.load(FORMATS / "org")
    assert len(result.events) == 3
    parts = loader.path_partitions(result.files[0].path)
    assert parts == {"org": "o-exampleorgid1", "account": "307578594326",
                     "region": "euiso-south-3r", "date": "2024/08/02"}
    assert {e["recipientAccountId"] for e in result.events} == {"307578594326"}


def test_plain_json_compact_and_pretty_printed():
    files = by_name(loader.load(FORMATS / "plain"))
    compact = next(f for name, f in files.items() if name.endswith("_compact.json"))
    assert (compact.shape, compact.bad_records) == ("records", 0)
    pretty = files["pretty_records.json"]
    assert pretty.shape == "records"
    assert sum(len(loader.read_file(f.path).events) for f in files.values()) == 5 + 3


def test_json_array_stratus():
    result = loader.load(FORMATS / "array")
    files = by_name(result)
    assert {f.shape for f in files.values()} == {"array"}
    assert len(loader.read_file(FORMATS / "array/aws.persistence.iam-create-user-login-profile.json").events) == 3
    assert len(loader.read_file(FORMATS / "array/aws.execution.ec2-launch-unusual-instances.json").events) == 3
    assert len(result.events) == 6


def test_ndjson_logstash_uses_timestamp_as_event_time():
    path = FORMATS / "ndjson/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
    read = loader.read_file(path)
    assert (read.shape, len(read.events), read.bad_records) == ("event", 103, 0)
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    assert all("eventTime" not in r for r in raw)  # the fixture really lacks eventTime
    assert [e["eventTime"] for e in read.events] == [r["@timestamp"][:19] + "Z" for r in raw]
    assert read.events[0]["eventTime"] == "2020-09-14T00:44:23Z"
    assert not any(k.startswith("@") for e in read.events for k in e)


def test_lookup_events_output():
    path = FORMATS / "lookup/lookup-events.json"
    read = loader.read_file(path)
    wrapper = json.loads(path.read_text())["Events"]
    assert (read.shape, len(read.events)) == ("lookup-events", 10)
    assert [e["eventID"] for e in read.events] == [w["EventId"] for w in wrapper]
    assert read.events[0] == json.loads(wrapper[0]["CloudTrailEvent"])


def test_jsonl_wrappers_event_and_log():
    awsdocs = loader.read_file(FORMATS / "wrapped/awsdocs_cloudtrail_examples.jsonl")
    assert (awsdocs.shape, len(awsdocs.events), awsdocs.bad_records) == ("wrapped", 16, 0)
    trail = loader.read_file(FORMATS / "wrapped/traildiscover_example_events.head20.jsonl")
    assert (trail.shape, len(trail.events)) == ("wrapped", 20)
    panther = loader.read_file(FORMATS / "wrapped/panther_cloudtrail_rule_tests.lines31-41.jsonl")
    # 11 rule tests: 7 usable events, 4 ConsoleLogin test events without eventTime (lines 5-8)
    assert (panther.shape, len(panther.events), panther.bad_records) == ("wrapped", 7, 4)
    assert panther.bad_record_reasons == [f"line {n}: log: no eventTime" for n in (5, 6, 7, 8)]


def test_lower_case_keys_are_canonicalised():
    panther = loader.read_file(FORMATS / "wrapped/panther_cloudtrail_rule_tests.lines31-41.jsonl")
    second = panther.events[1]  # this Panther test writes its top-level keys in lower case
    assert second["eventID"] == "5d4b45ed-a15c-41b6-80e9-031729fa060d"
    assert "eventid" not in second and "eventName" in second


def test_panther_scenario_bare_ndjson():
    read = loader.read_file(FORMATS / "scenario/scenario_compromised-root-creds_attacker_cloudtrail.jsonl")
    assert (read.shape, len(read.events)) == ("event", 12)
    assert {e["eventID"] for e in read.events} == {"1"}  # reused upstream; the store keeps all 12


def test_digest_skipped_by_path_and_by_content(tmp_path):
    digest = next((FORMATS / "s3").rglob("*CloudTrail-Digest*.json.gz"))
    assert loader.read_file(digest).is_digest
    moved = tmp_path / "renamed.json.gz"  # no CloudTrail-Digest in the path: known by its fields
    shutil.copyfile(digest, moved)
    read = loader.read_file(moved)
    assert read.is_digest and read.events == [] and not read.is_bad


@pytest.mark.parametrize("name, reason", [
    ("corrupt.json.gz", "corrupt or truncated gzip"),
    ("truncated.json.gz", "corrupt or truncated gzip: Compressed file ended"),
    ("truncated.json", "malformed or truncated JSON"),
    ("empty.json", "empty file"),
    ("not_cloudtrail.jsonl", "no usable CloudTrail event in 3 records"),
])
def test_bad_files_are_named_with_a_reason(name, reason):
    read = loader.read_file(FORMATS / "bad" / name)
    assert read.is_bad and read.error.startswith(reason)
    assert read.events == []


def test_bad_files_do_not_stop_a_run():
    result = loader.load([FORMATS / "bad", FORMATS / "s3"])
    assert sorted(Path(p).name for p, _ in result.bad_files) == sorted(
        ["corrupt.json.gz", "truncated.json.gz", "truncated.json", "empty.json", "not_cloudtrail.jsonl"])
    assert len(result.events) == 46


def test_non_object_and_incomplete_records_are_bad_records(tmp_path):
    event = json.loads((FORMATS / "array/aws.persistence.iam-create-user-login-profile.json").read_text())[0]
    no_time = {k: v for k, v in event.items() if k != "eventTime"}
    no_name = {k: v for k, v in event.items() if k != "eventName"}
    bad_identity = dict(event, userIdentity="arn:aws:iam::1:user/x")
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"Records": [event, 7, "text", None, no_time, no_name, bad_identity]}))
    read = loader.read_file(path)
    assert len(read.events) == 1 and read.bad_records == 6
    assert read.bad_record_reasons[:5] == [
        "Records[1]: record is a int, not an object",
        "Records[2]: record is a str, not an object",
        "Records[3]: record is a NoneType, not an object",
        "Records[4]: no eventTime",
        "Records[5]: no eventName",
    ]


def test_ndjson_bad_line_is_a_bad_record(tmp_path):
    lines = (FORMATS / "ndjson/ec2_proxy_s3_exfiltration_2020-09-14011940.json").read_text().splitlines()
    path = tmp_path / "cut.json"
    path.write_text("\n".join(lines[:3] + [lines[3][:50]] + lines[4:6]) + "\n")
    read = loader.read_file(path)
    assert len(read.events) == 5 and read.bad_records == 1
    assert read.bad_record_reasons[0].startswith("line 4: malformed JSON")


def test_blobs_keep_case_differing_keys():
    events = loader.load(FORMATS / "casekeys").events
    keys = [set(e["requestParameters"]) for e in events]
    assert any("Host" in k and "host" not in k for k in keys)
    assert any("host" in k and "Host" not in k for k in keys)


@pytest.mark.parametrize("given, expected", [
    ("2024-08-02T08:53:24Z", "2024-08-02T08:53:24Z"),
    ("2020-09-14T00:44:23.000Z", "2020-09-14T00:44:23Z"),         # Logstash @timestamp
    ("2025-01-21 17:49:47.000000000", "2025-01-21T17:49:47Z"),    # Panther tests, nanoseconds
    ("2022-09-25 16:16:37", "2022-09-25T16:16:37Z"),
    ("2024-08-02T10:53:24+02:00", "2024-08-02T08:53:24Z"),
    ("2024-08-01T23:30:00-0100", "2024-08-02T00:30:00Z"),
])
def test_event_time_normalised(given, expected):
    assert loader.normalise_event_time(given) == expected
    assert ISO.fullmatch(expected)


@pytest.mark.parametrize("given", ["yesterday", "2024-13-01T00:00:00Z", 1722588804, ""])
def test_event_time_rejected(given):
    with pytest.raises(loader.BadRecord):
        loader.normalise_event_time(given)


def test_every_loaded_time_is_canonical():
    events = loader.load(FORMATS).events
    assert len(events) == 300
    assert all(ISO.fullmatch(e["eventTime"]) for e in events)


def test_discover_walks_folders_and_names_ignored_files():
    found = loader.discover(FORMATS)
    assert [p.name for p in found.ignored] == ["make_fixtures.py"]
    assert len(found.files) == 24
    globbed = loader.discover(str(FORMATS / "s3/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))
    assert len(globbed.files) == 3


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        loader.discover(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="glob matched nothing"):
        loader.discover(str(tmp_path / "*.json.gz"))


def test_discover_does_not_follow_symlinked_folders(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.json").write_text('{"Records": []}')
    (source / "loop").symlink_to(source, target_is_directory=True)
    (source / "again").symlink_to(source, target_is_directory=True)
    found = loader.discover(source)
    assert [p.name for p in found.files] == ["a.json"]


# is_digest_path and path_partitions read each file's path as text (ingest asks three times per
# file); for paths that are not in Path's normal form they must answer as Path's parts would.
_DELIVERY = "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/10/01/111122223333_CloudTrail_eu-west-1_x.json.gz"
_PARTITIONS = {"org": "o-abc123", "account": "111122223333", "region": "eu-west-1", "date": "2026/10/01"}


@pytest.mark.parametrize("text", [
    _DELIVERY, f"/data/{_DELIVERY}", f"./{_DELIVERY}", f"/data//{_DELIVERY}", f"/data/./{_DELIVERY}",
    f"data/.//{_DELIVERY}",
])
def test_path_partitions_read_a_delivery_path_in_any_spelling(text):
    assert loader.path_partitions(text) == _PARTITIONS
    assert loader.path_partitions(Path(text)) == _PARTITIONS


@pytest.mark.parametrize(("text", "digest"), [
    ("AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/10/01/"
     "111122223333_CloudTrail-Digest_eu-west-1_x.json.gz", True),
    ("logs/CloudTrail-Digest/f.json.gz", True),
    ("logs//CloudTrail-Digest/./f.json.gz", True),
    ("logs/111122223333_CloudTrail-Digest_eu-west-1_x.json.gz", True),
    ("CloudTrail-Digest", True),
    ("logs/CloudTrail-Digest-old/f.json.gz", False),
    ("logs/my-CloudTrail-Digest/f.json.gz", False),
    ("logs/111122223333_CloudTrail-Digest_x/f.json.gz", False),  # the marker in a folder's name only
    (_DELIVERY, False),
])
def test_a_digest_is_named_by_its_folder_or_its_file_name(text, digest):
    assert loader.is_digest_path(text) is digest
    assert loader.is_digest_path(Path(text)) is digest


def test_files_are_found_in_path_order_by_component(tmp_path):
    """The source order (the first copy of a repeated event stays) is PurePosixPath's order, by
    component: `a/b` before `a-b` and `a.b` although '/' sorts after '-' and '.' as text."""
    names = ["a/b/z.json", "a-b/x.json", "a.b/y.json", "a/b-c/w.json", "a/b/c/v.json", "a/bb.json", "a0.json",
             "a/b.json", "ab/u.json"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{"Records": []}')
    expected = [str(tmp_path / name) for name in sorted(names, key=PurePosixPath)]
    assert expected[:3] == [str(tmp_path / n) for n in ("a/b/c/v.json", "a/b/z.json", "a/b-c/w.json")]
    assert [str(f) for f in loader.discover(tmp_path).files] == expected
