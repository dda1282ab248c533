"""Write the hostile CloudTrail corpus (tests/fixtures/hostile/) and its manifest, the test oracle.

    .venv/bin/python tests/make_hostile_corpus.py [OUT]

Every file holds one class of hostile input (issue 12) among good records. ``manifest.json``
says, per file, what an ingest must do: which eventIDs load, how many bad records it names and
with which reason, or why the whole file is bad. The expectations are written here, from the
records this script makes; nothing in trailbook is imported, so the oracle is independent of
the code under test. Records without an eventID are expected under the documented content id:
``sha256:`` + the SHA-256 of the record's JSON with keys sorted at every level, compact, UTF-8.

Output is deterministic (fixed records, gzip mtime 0). The two big cases, a 50 MB record and
nesting 100k levels deep, are not stored: ``big_cases(folder)`` writes them at test time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "fixtures" / "hostile"
ACCOUNT = "111122223333"
S3 = f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2025/06/01/"
WHEN = "2025-06-01T10:00:00Z"

# Secret-shaped strings (fake, but shaped like the real thing).
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "A" * 120
PASSWORD = "hunter2-Pa55w0rd!"


def event(n: int, **fields) -> dict:
    """A good console-login record; fields override (a value of None drops the key)."""
    record = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": ACCOUNT,
                         "arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "userName": "alice"},
        "eventTime": WHEN, "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1", "sourceIPAddress": f"198.51.100.{n % 250}",
        "userAgent": "Mozilla/5.0", "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success"}, "eventID": f"hostile-{n:04d}",
        "readOnly": False, "eventType": "AwsConsoleSignIn", "recipientAccountId": ACCOUNT,
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def content_id(record: dict) -> str:
    body = {key: value for key, value in record.items() if key != "eventID"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def compact(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def records(recs: list) -> bytes:
    return compact({"Records": recs})


def ids(recs: list[dict]) -> list[str]:
    return sorted({r.get("eventID") or content_id(r) for r in recs})


class Corpus:
    """Files written under a folder, and the manifest entry of each."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.entries: list[dict] = []

    def add(self, rel: str, data: bytes, *, good: list[dict] = (), bad_records: int = 0,
            reasons: tuple[str, ...] = (), bad_file: str | None = None, skipped: str | None = None,
            repaired: int = 0, path_of_fast: bool = False, why: str) -> None:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # Rows the store keeps: one per (eventID, eventTime, eventName), its dedupe key.
        keys = sorted({(r.get("eventID") or content_id(r), r["eventTime"], r["eventName"]) for r in good})
        self.entries.append({
            "path": rel, "why": why, "ids": ids(list(good)), "rows": len(keys), "keys": keys,
            "bad_records": bad_records,
            "reasons": list(reasons), "bad_file": bad_file, "skipped": skipped, "repaired": repaired,
            "compact_records": path_of_fast,
        })


def time_cases(c: Corpus) -> None:
    # Five bad records a file: the summary names the first five reasons of a file.
    good = [event(1), event(2, eventTime="2025-06-01T12:00:00+02:00"), event(3)]
    unreal = [
        event(10, eventTime="9999-12-31T23:59:59-05:00"),  # past year 9999 in UTC
        event(11, eventTime="0001-01-01T00:00:00+01:00"),  # before year 1 in UTC
        event(12, eventTime="2025-06-01T10:00:00+99:99"),  # not a real offset
        event(17, eventTime="2025-02-30T10:00:00Z"),  # 30 February
        event(18, eventTime="yesterday"),
    ]
    c.add(S3 + "unreal_times.json.gz", gz(records(good[:2] + unreal + good[2:])), good=good,
          bad_records=len(unreal), path_of_fast=True,
          reasons=("'9999-12-31T23:59:59-05:00' is out of range", "'0001-01-01T00:00:00+01:00' is out of range",
                   "+99:99 is not a real UTC offset", "day is out of range", "not ISO-8601"),
          why="times that overflow in UTC, an unreal offset, 30 February, not a time (compact Records)")
    good = [event(4), event(5)]
    far = [
        event(13, eventTime="2099-01-01T00:00:00Z"),  # far future
        event(14, eventTime="9999-12-31T23:59:59Z"),  # far future, the last second
        event(15, eventTime="0001-01-01T00:00:00Z"),  # far past
        event(16, eventTime="1970-01-01T00:00:00Z"),  # before CloudTrail
        event(19, eventTime=1748772000),
    ]
    reasons = ("'2099-01-01T00:00:00Z' is more than a day in the future", "'9999-12-31T23:59:59Z' is more than",
               "'0001-01-01T00:00:00Z' is before CloudTrail existed", "'1970-01-01T00:00:00Z' is before",
               "1748772000")  # a number: the reason depends on the reader, the value is named
    recs = good[:1] + far + good[1:]
    c.add(S3 + "far_times.json.gz", gz(records(recs)), good=good, bad_records=len(far), reasons=reasons,
          path_of_fast=True, why="far-past and far-future times (compact Records)")
    c.add("pretty/far_times.json", json.dumps({"Records": recs}, indent=2).encode(), good=good,
          bad_records=len(far), reasons=reasons, why="the same times, pretty-printed (Python reader)")


def id_cases(c: Corpus) -> None:
    # 12 failed logins in one second from 12 addresses, none with an eventID: 12 events.
    failed = [event(100 + i, eventID=None, sourceIPAddress=f"203.0.113.{i}", errorMessage="Failed authentication",
                    responseElements={"ConsoleLogin": "Failure"}) for i in range(12)]
    twin = event(200, eventID=None, sourceIPAddress="203.0.113.200")
    empty_id = event(201, eventID="", sourceIPAddress="203.0.113.201")  # "" counts as missing
    recs = failed + [twin, dict(twin), empty_id]
    c.add(S3 + "missing_ids.json.gz", gz(records(recs)), good=failed + [twin, empty_id], path_of_fast=True,
          why="records without eventID: distinct ones all load, an exact copy loads once")
    c.add("lines/missing_ids.jsonl", b"\n".join(compact(r) for r in recs) + b"\n",
          good=failed + [twin, empty_id], why="the same, as JSON Lines (Python reader)")
    # The same eventID twice: an exact copy collapses; same id with another time and name stays
    # (the store dedupes on eventID, eventTime and eventName).
    a = event(300)
    b = event(300, eventTime="2025-06-01T11:00:00Z", eventName="GetCallerIdentity")
    c.add(S3 + "duplicate_ids.json.gz", gz(records([a, dict(a), b, dict(a)])), good=[a, b],
          path_of_fast=True, why="duplicate eventIDs")


def byte_cases(c: Corpus) -> None:
    good = [event(400), event(401)]
    body = records([event(400), event(401, userAgent="ua-PLACEHOLDER")])
    c.add("bytes/invalid_utf8.json", body.replace(b"PLACEHOLDER", b"bad\xff\xfe\xc3bytes"), good=good,
          repaired=1, reasons=("invalid UTF-8",), why="invalid UTF-8 inside one record (replaced, loaded)")
    lines = [compact(event(402)), compact(event(403, userAgent="ua-PLACEHOLDER")), compact(event(404))]
    c.add("bytes/invalid_utf8.jsonl", b"\n".join(lines).replace(b"PLACEHOLDER", b"\x80\x80") + b"\n",
          good=[event(402), event(403), event(404)], repaired=1, reasons=("invalid UTF-8",),
          why="invalid UTF-8 on one JSON line")
    c.add("bytes/bom.json", b"\xef\xbb\xbf" + records([event(410), event(411)]),
          good=[event(410), event(411)], why="UTF-8 byte-order mark")
    c.add(S3 + "bom.json.gz", gz(b"\xef\xbb\xbf" + records([event(412)])), good=[event(412)],
          why="byte-order mark inside gzip")
    raw_nul = records([event(420), event(421, userAgent="ua-PLACEHOLDER"), event(422)])
    c.add("bytes/raw_nul.json", raw_nul.replace(b"PLACEHOLDER", b"a\x00b"), good=[event(420), event(422)],
          bad_records=1, reasons=("Records[1]: malformed JSON",), why="a raw NUL byte inside one record's string")
    escaped = event(423, userAgent="nul\u0000inside", requestParameters={"k\u0000": "v\u0000"})
    c.add("bytes/escaped_nul.json", records([escaped]), good=[escaped], why="escaped NULs (valid JSON)")
    full = gz(records([event(430), event(431), event(432)]))
    c.add(S3 + "truncated.json.gz", full[: len(full) // 2], bad_file="corrupt or truncated gzip",
          why="gzip cut in half")
    garbage = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(64))
    c.add(S3 + "garbage.json.gz", b"\x1f\x8b\x08\x00" + garbage, bad_file="corrupt or truncated gzip",
          why="gzip header then garbage")
    c.add("bytes/garbage.json", garbage, bad_file="JSON", why="random bytes named .json")
    c.add("bytes/zero.json", b"", skipped="empty", why="a zero-byte file")
    c.add(S3 + "zero.json.gz", gz(b""), bad_file="empty file", why="gzip of nothing")
    c.add("bytes/truncated.json", records([event(433), event(434)])[:-40], bad_file="truncated JSON",
          why="JSON cut short")


def shape_cases(c: Corpus) -> None:
    for name, value in (("dict", {"eventName": "X", "eventTime": WHEN}), ("str", "text"), ("NoneType", None)):
        c.add(f"shapes/records_{name}.json", compact({"Records": value}),
              bad_file=f"Records is a {name}, not a list", why=f"Records is a {name}")
    mixed = [event(500), 7, "text", None, [event(501)], True, event(502)]
    c.add("shapes/not_objects.json", records(mixed), good=[event(500), event(502)], bad_records=5,
          reasons=("record is a int", "record is a str", "record is a NoneType", "record is a list"),
          why="records that are not objects")
    c.add(S3 + "not_objects.json.gz", gz(records(mixed)), good=[event(500), event(502)], bad_records=5,
          reasons=("record is a int",), path_of_fast=True, why="the same, compact Records")
    deep = {"a": 1}
    for _ in range(300):  # deeper than the store can re-encode (254), shallower than parsing (1024)
        deep = {"a": deep}
    lines = [compact(event(510)), compact(event(511, requestParameters=deep)), compact(event(512))]
    c.add("shapes/deep300.jsonl", b"\n".join(lines) + b"\n", good=[event(510), event(512)], bad_records=1,
          reasons=("line 2: cannot be stored as JSON",), why="a record nested 300 levels deep")


def text_cases(c: Corpus) -> None:
    """Secret-shaped strings in every free-text field, and hostile names: all good records."""
    secrets = [
        event(600, userAgent=f"Mozilla/5.0 {TOKEN}",
              errorMessage=f"password {PASSWORD} rejected for {KEY_ID}",
              requestParameters={"userName": KEY_ID, "environment": {"variables": {
                  "AWS_SECRET_ACCESS_KEY": SECRET, "DB_PASSWORD": PASSWORD}}, "password": PASSWORD},
              responseElements={"credentials": {"accessKeyId": "ASIAEXAMPLEEXAMPLE12", "secretAccessKey": SECRET,
                                                "sessionToken": TOKEN}},
              additionalEventData={"note": f"{KEY_ID}:{SECRET}", "token": TOKEN}),
        event(601, userIdentity={"type": "IAMUser", "userName": f"{KEY_ID} {SECRET}", "accessKeyId": KEY_ID,
                                 "arn": f"arn:aws:iam::{ACCOUNT}:user/{KEY_ID}", "accountId": ACCOUNT},
              eventName="CreateAccessKey", eventSource="iam.amazonaws.com",
              responseElements={"accessKey": {"accessKeyId": KEY_ID, "secretAccessKey": SECRET}}),
    ]
    c.add(S3 + "secrets.json.gz", gz(records(secrets)), good=secrets, path_of_fast=True,
          why="secret-shaped and token-prefixed strings in every free-text field")
    names = [
        event(610, userIdentity={"type": "IAMUser", "userName": "o'brien \"admin\"\nnext line",
                                 "arn": f"arn:aws:iam::{ACCOUNT}:user/o'brien", "accountId": ACCOUNT}),
        event(611, userIdentity={"type": "IAMUser", "userName": "\u0430dmin",  # Cyrillic a
                                 "arn": f"arn:aws:iam::{ACCOUNT}:user/\u0430dmin", "accountId": ACCOUNT}),
        event(612, userIdentity={"type": "AssumedRole",
                                 "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/My Role/s\u202etxt.exe",
                                 "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "My Role",
                                                                      "arn": f"arn:aws:iam::{ACCOUNT}:role/My Role"}}},
              eventName="AssumeRole", eventSource="sts.amazonaws.com",
              requestParameters={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/My Role",
                                 "roleSessionName": "x'; DROP TABLE cloudtrail; --\u200d"}),
    ]
    c.add("text/quote'd n\u0430mes.jsonl", b"\n".join(compact(r) for r in names) + b"\n", good=names,
          why="quotes, newlines and look-alikes in names; a role ARN with a space")


def write(out: Path = OUT) -> list[dict]:
    if out.exists():
        shutil.rmtree(out)
    corpus = Corpus(out)
    for make in (time_cases, id_cases, byte_cases, shape_cases, text_cases):
        make(corpus)
    manifest = {"about": __doc__.split("\n\n")[0], "files": corpus.entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return corpus.entries


def big_cases(folder: Path) -> list[dict]:
    """The cases too big to commit, written into folder, with manifest entries like write()'s."""
    corpus = Corpus(folder)
    good = [event(700), event(702)]
    big = event(701, userAgent="A" * (50 << 20))
    corpus.add(S3 + "big50mb.json.gz", gz(records([good[0], big, good[1]])), good=good + [big],
               path_of_fast=True, why="a 50 MB record")
    depth = 100_000
    deep = b'{"eventName":"X","eventTime":"' + WHEN.encode() + b'","requestParameters":' + \
        b'{"a":' * depth + b"1" + b"}" * depth + b"}"
    pretty = b'{\n "Records": [\n' + compact(event(710)) + b",\n" + deep + b",\n" + compact(event(711)) + b"\n ]\n}\n"
    corpus.add("deep/deep100k.json", pretty, good=[event(710), event(711)], bad_records=1,
               reasons=("Records[1]: malformed JSON: depth limit exceeded",),
               why="a record nested 100k levels deep, in a Records document")
    lines = compact(event(712)) + b"\n" + deep + b"\n" + compact(event(713)) + b"\n"
    corpus.add("deep/deep100k.jsonl", lines, good=[event(712), event(713)], bad_records=1,
               reasons=("line 2: malformed JSON: depth limit exceeded",), why="the same, as a JSON line")
    return corpus.entries


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    print(f"wrote {len(write(target))} files to {target}")
