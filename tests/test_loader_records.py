"""Record-level rules of the loader: strict eventTime, content ids, repairs, bad records (issue 12).

Expected values are written by hand (times) or computed here from the documented definition
(content ids), never taken from the loader.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from trailbook import loader


def _event(**fields) -> dict:
    record = {"eventVersion": "1.08", "eventTime": "2025-06-01T10:00:00Z", "eventName": "ConsoleLogin",
              "eventSource": "signin.amazonaws.com", "sourceIPAddress": "198.51.100.1", "eventID": "e-1"}
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def _write(path, recs) -> None:
    path.write_text(json.dumps({"Records": recs}), encoding="utf-8")


@pytest.mark.parametrize("given, expected", [
    ("2025-06-01T10:00:00+18:00", "2025-05-31T16:00:00Z"),  # the largest real offset
    ("2025-06-01T10:00:00-18:00", "2025-06-02T04:00:00Z"),
    ("2025-06-01T10:00:00+05:45", "2025-06-01T04:15:00Z"),  # Nepal
    ("2013-11-01T00:00:00Z", "2013-11-01T00:00:00Z"),  # the first accepted second
    ("2013-11-01T01:00:00+01:00", "2013-11-01T00:00:00Z"),
])
def test_real_offsets_and_bounds_are_accepted(given, expected):
    assert loader.normalise_event_time(given) == expected


@pytest.mark.parametrize("given, reason", [
    ("9999-12-31T23:59:59-05:00", "out of range in UTC"),  # used to raise OverflowError
    ("0001-01-01T00:00:00+01:00", "out of range in UTC"),  # used to raise OverflowError
    ("2025-06-01T10:00:00+99:99", "+99:99 is not a real UTC offset"),  # used to shift by days
    ("2025-06-01T10:00:00+18:01", "+18:01 is not a real UTC offset"),
    ("2025-06-01T10:00:00-0960", "-0960 is not a real UTC offset"),
    ("2099-01-01T00:00:00Z", "more than a day in the future"),
    ("9999-12-31T23:59:59Z", "more than a day in the future"),
    ("0001-01-01T00:00:00Z", "before CloudTrail existed"),
    ("0005-01-01T10:00:00+01:00", "before CloudTrail existed"),
    ("2013-10-31T23:59:59Z", "before CloudTrail existed"),
    ("2013-11-01T00:59:59+01:00", "before CloudTrail existed"),
    ("2025-02-30T10:00:00Z", "day is out of range"),
    (1748772000, "1748772000 is a int, not an ISO-8601 string"),
])
def test_bad_times_are_bad_records_with_a_reason(given, reason):
    with pytest.raises(loader.BadRecord) as caught:
        loader.normalise_event_time(given)
    assert reason in str(caught.value)


def test_the_future_limit_is_one_day_after_now():
    now = datetime.now(timezone.utc)
    inside = (now + timedelta(hours=23)).strftime("%Y-%m-%dT%H:%M:%SZ")
    outside = (now + timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert loader.normalise_event_time(inside) == inside
    with pytest.raises(loader.BadRecord, match="more than a day in the future"):
        loader.normalise_event_time(outside)


def test_bad_times_do_not_cost_the_file_its_good_records(tmp_path):
    path = tmp_path / "t.json"
    _write(path, [_event(eventID="a"), _event(eventID="b", eventTime="9999-12-31T23:59:59-05:00"),
                  _event(eventID="c", eventTime="2099-01-01T00:00:00Z"), _event(eventID="d")])
    read = loader.read_file(path)
    assert [e["eventID"] for e in read.events] == ["a", "d"]
    assert read.bad_records == 2
    assert read.bad_record_reasons[0].startswith("Records[1]: eventTime '9999-12-31T23:59:59-05:00'")
    assert read.bad_record_reasons[1].startswith("Records[2]: eventTime '2099-01-01T00:00:00Z'")


def _documented_content_id(record: dict) -> str:
    """The README/docstring definition, computed with the standard library."""
    body = {k: v for k, v in record.items() if k != "eventID"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_records_without_an_event_id_get_the_documented_content_id(tmp_path):
    logins = [_event(eventID=None, sourceIPAddress=f"203.0.113.{i}",
                     userIdentity={"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::1:user/bob"},
                     requestParameters={"z": 1, "a": {"y": "é", "b": [2, 1]}}) for i in range(12)]
    path = tmp_path / "logins.json"
    _write(path, logins + [_event(eventID="", sourceIPAddress="203.0.113.99")])
    events = loader.read_file(path).events
    ids = [e["eventID"] for e in events]
    assert ids[:12] == [_documented_content_id(r) for r in logins]
    assert len(set(ids)) == 13  # 12 addresses, and the empty id: all distinct
    assert ids[12] == _documented_content_id(_event(eventID=None, sourceIPAddress="203.0.113.99"))


def test_an_exact_copy_without_an_event_id_gets_the_same_id(tmp_path):
    path = tmp_path / "twice.jsonl"
    line = json.dumps(_event(eventID=None))
    path.write_text(line + "\n" + line + "\n", encoding="utf-8")
    first, second = loader.read_file(path).events
    assert first["eventID"] == second["eventID"] == _documented_content_id(_event(eventID=None))


def test_a_given_event_id_is_kept():
    assert loader.normalise_record(_event(eventID="keep-me"))["eventID"] == "keep-me"


def test_invalid_utf8_is_replaced_and_the_record_loads(tmp_path):
    body = json.dumps({"Records": [_event(eventID="a"), _event(eventID="b", userAgent="ua-X")]}).encode()
    path = tmp_path / "u.json.gz"
    path.write_bytes(gzip.compress(body.replace(b"ua-X", b"ua-\xff\xfe-end")))
    read = loader.read_file(path)
    assert [e["eventID"] for e in read.events] == ["a", "b"]
    assert read.events[1]["userAgent"] == "ua-\ufffd\ufffd-end"
    assert read.repaired_records == 1
    assert read.notes == ["2 invalid UTF-8 byte sequences replaced with U+FFFD in 1 records (loaded)"]


def test_invalid_utf8_on_the_first_json_line_does_not_reject_the_file(tmp_path):
    path = tmp_path / "u.jsonl"
    lines = [json.dumps(_event(eventID=str(i), userAgent="X")).encode() for i in range(3)]
    path.write_bytes(b"\n".join([lines[0].replace(b'"X"', b'"\x80"'), *lines[1:]]) + b"\n")
    read = loader.read_file(path)
    assert not read.is_bad and [e["eventID"] for e in read.events] == ["0", "1", "2"]
    assert read.repaired_records == 1


def test_a_broken_record_in_a_complete_records_document_is_the_only_bad_one(tmp_path):
    path = tmp_path / "nul.json"
    body = json.dumps({"Records": [_event(eventID="a"), _event(eventID="b", userAgent="X"), _event(eventID="c")]},
                      indent=1).encode()
    path.write_bytes(body.replace(b'"X"', b'"a\x00b"'))
    read = loader.read_file(path)
    assert [e["eventID"] for e in read.events] == ["a", "c"]
    assert read.bad_records == 1 and read.bad_record_reasons[0].startswith("Records[1]: malformed JSON")


def test_nesting_100k_deep_is_a_named_bad_record_not_a_crash(tmp_path):
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    record = '{"eventName":"X","eventTime":"2025-06-01T10:00:00Z","requestParameters":' + deep + "}"
    path = tmp_path / "deep.json"
    path.write_text('{"Records": [' + json.dumps(_event(eventID="a")) + ",\n" + record + "]}", encoding="utf-8")
    read = loader.read_file(path)
    assert [e["eventID"] for e in read.events] == ["a"]
    assert read.bad_records == 1
    assert read.bad_record_reasons[0].startswith("Records[1]: malformed JSON: depth limit exceeded")


def test_a_record_too_deep_to_store_is_a_bad_record(tmp_path):
    deep: dict = {"a": 1}
    for _ in range(300):
        deep = {"a": deep}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(_event(eventID="a")) + "\n" + json.dumps(_event(eventID="b", requestParameters=deep))
                    + "\n", encoding="utf-8")
    read = loader.read_file(path)
    assert [e["eventID"] for e in read.events] == ["a"]
    assert read.bad_record_reasons[0].startswith("line 2: cannot be stored as JSON")


def test_a_truncated_records_document_stays_a_bad_file(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps({"Records": [_event(eventID="a"), _event(eventID="b")]})[:-30], encoding="utf-8")
    read = loader.read_file(path)
    assert read.is_bad and read.error.startswith("malformed or truncated JSON")


@pytest.mark.parametrize("value, name", [({"eventName": "X"}, "dict"), ("x", "str"), (None, "NoneType"), (3, "int")])
def test_records_that_is_not_a_list_names_its_type(tmp_path, value, name):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"Records": value}), encoding="utf-8")
    read = loader.read_file(path)
    assert read.is_bad and read.error == f"not CloudTrail: Records is a {name}, not a list"


# --- Added for mutation testing (tests/mutation/survivors.md).

@pytest.mark.parametrize("given, expected", [
    ("2025-06-01T10:00:00.000Z", "2025-06-01T10:00:00Z"),  # Logstash writes milliseconds
    ("2025-06-01T10:00:00.123456789z", "2025-06-01T10:00:00Z"),  # nanoseconds, lower-case zone
    ("2025-06-01 10:00:00", "2025-06-01T10:00:00Z"),  # no zone: CloudTrail writes UTC
    ("2025-06-01T10:00:00+0130", "2025-06-01T08:30:00Z"),  # offset without a colon
])
def test_fractions_missing_zones_and_compact_offsets(given, expected):
    assert loader.normalise_event_time(given) == expected


def test_exactly_one_day_after_now_is_still_accepted(monkeypatch):
    from trailbook.loader import times

    frozen = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(times, "datetime", FrozenDatetime)
    monkeypatch.setattr(times, "_latest", (-1, ""))
    assert loader.normalise_event_time("2030-01-02T12:00:00Z") == "2030-01-02T12:00:00Z"
    with pytest.raises(loader.BadRecord, match="more than a day in the future"):
        loader.normalise_event_time("2030-01-02T12:00:01Z")


def test_offset_minutes_must_be_under_60():
    # java.time (so Athena) accepts any offset minute 00-59 and nothing above.
    assert loader.normalise_event_time("2025-06-01T10:00:00+00:59") == "2025-06-01T09:01:00Z"
    with pytest.raises(loader.BadRecord, match="not a real UTC offset"):
        loader.normalise_event_time("2025-06-01T10:00:00+05:75")


def test_the_content_id_covers_every_field_but_the_event_id():
    # Two events differing in any one field are two events, whatever the field's name sorts like.
    one = loader.normalise_record(_event(eventID=None, awsRegion="us-east-1"))
    two = loader.normalise_record(_event(eventID=None, awsRegion="eu-west-1"))
    assert one["eventID"] != two["eventID"]


@pytest.mark.parametrize("fields, reason", [
    ({"userIdentity": ["not", "an", "object"]}, "userIdentity is a list, not an object"),
    ({"resources": {"arn": "x"}}, "resources is a dict, not a list"),
    ({"resources": ["arn:aws:s3:::b"]}, "resources[0] is a str, not an object"),
])
def test_values_that_cannot_take_their_column_type_are_bad_records(fields, reason):
    import re

    with pytest.raises(loader.BadRecord, match=re.escape(reason)):
        loader.normalise_record(_event(**fields))


def test_logstash_timestamp_stands_in_only_for_a_missing_event_time():
    logstash = {**_event(eventTime=None), "@timestamp": "2025-06-02T08:00:00.000Z"}
    assert loader.normalise_record(logstash)["eventTime"] == "2025-06-02T08:00:00Z"
    both = {**_event(), "@timestamp": "2025-06-02T08:00:00.000Z"}
    assert loader.normalise_record(both)["eventTime"] == "2025-06-01T10:00:00Z"


def test_logstash_bookkeeping_keys_are_dropped_and_the_rest_kept():
    record = loader.normalise_record({"@version": "1", **_event(eventID="e-9")})
    assert "@version" not in record and record["eventName"] == "ConsoleLogin" and record["eventID"] == "e-9"


@pytest.mark.parametrize("name", ["", 5, None])
def test_an_event_name_must_be_non_empty_text(name):
    with pytest.raises(loader.BadRecord, match="no eventName"):
        loader.normalise_record({**_event(), "eventName": name})


@pytest.mark.parametrize("identity, reason", [
    ({"type": "IAMUser", "Type": "Root"}, "userIdentity.Type appears twice"),
    ({"type": "IAMUser", "sessionContext": ["x"]}, "userIdentity.sessionContext is a list, not an object"),
])
def test_struct_fields_are_checked_inside(identity, reason):
    with pytest.raises(loader.BadRecord, match=reason):
        loader.normalise_record(_event(userIdentity=identity))


def test_a_null_nested_object_is_accepted():
    record = loader.normalise_record(_event(userIdentity={"type": "IAMUser", "sessionContext": None}))
    assert record["userIdentity"]["sessionContext"] is None
