"""The demo generator: determinism, exact volume, every incident with the exact shapes AWS logs,
a clean background, and an IAM snapshot that agrees with the events."""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from trailbook import demo
from trailbook.demo import DEMO_WINDOW

FIXTURES = Path(__file__).parent / "fixtures" / "demo"
SMALL = 5_000
PROD = "111111111111"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FILE_NAME = re.compile(r"^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T(\d{4})Z_[A-Za-z0-9]{16}\.json\.gz$")
INCIDENTS = {
    "root_console_login_no_mfa", "brute_force_then_success", "password_spray", "leaked_key_first_use",
    "leaked_key_recon", "leaked_key_access_denied_burst", "leaked_key_privilege_escalation",
    "leaked_key_persistence", "leaked_key_cryptomining", "leaked_key_kali_user_agent", "cloudtrail_stopped",
    "guardduty_deleted", "public_bucket_policy",
}
ORG_NETWORKS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "10.0.0.0/8")]


def ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def read_files(root: Path) -> dict[str, list[dict]]:
    """Every delivered log file (not digests) → its records, checking the delivery format on the way."""
    out = {}
    for path in sorted((root / "cloudtrail").rglob("*.json.gz")):
        rel = path.relative_to(root / "cloudtrail").as_posix()
        if "/CloudTrail-Digest/" in rel:
            continue
        raw = gzip.decompress(path.read_bytes())
        assert b"\n" not in raw, f"{rel} is not a single line"
        body = json.loads(raw)
        assert list(body) == ["Records"], rel
        out[rel] = body["Records"]
    return out


class Demo:
    def __init__(self, root: Path, manifest: dict):
        self.root, self.manifest = root, manifest
        self.files = read_files(root)
        self.records = [r for recs in self.files.values() for r in recs]
        self.by_id = {r["eventID"]: r for r in self.records}
        self.incidents = {i["id"]: i for i in manifest["incidents"]}
        self.incident_ids = {e for i in manifest["incidents"] for e in i["event_ids"]}

    def events_of(self, incident: str) -> list[dict]:
        return [self.by_id[e] for e in self.incidents[incident]["event_ids"]]


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("demo_story")
    return Demo(root, demo.generate(root, events=SMALL))


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("demo_clean")
    return Demo(root, demo.generate(root, events=SMALL, incidents=False))


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- determinism and volume ----------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_output(tmp_path):
    first = demo.generate(tmp_path / "a", seed=3, events=1_000)
    second = demo.generate(tmp_path / "b", seed=3, events=1_000)
    assert first == second
    a, b = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    assert len(a) > 100 and a == b
    other = demo.generate(tmp_path / "c", seed=4, events=1_000)
    ids_a = {e for i in first["incidents"] for e in i["event_ids"]}
    ids_c = {e for i in other["incidents"] for e in i["event_ids"]}
    assert not ids_a & ids_c  # a different seed draws different ids


def test_regenerating_in_place_replaces_the_previous_demo(tmp_path):
    demo.generate(tmp_path, seed=3, events=1_000)
    before = tree_digest(tmp_path)
    demo.generate(tmp_path, seed=3, events=1_200, incidents=False)
    demo.generate(tmp_path, seed=3, events=1_000)
    assert tree_digest(tmp_path) == before


def test_background_count_is_exact_and_scales(tmp_path, clean, story):
    assert len(clean.records) == clean.manifest["event_count"] == SMALL
    assert clean.manifest["background_event_count"] == SMALL and clean.manifest["incidents"] == []
    m = story.manifest
    assert len(story.records) == m["event_count"] == SMALL + m["incident_event_count"] + m["response_event_count"]
    assert m["incident_event_count"] == len(story.incident_ids) > 100
    half = demo.generate(tmp_path, events=SMALL // 2, incidents=False)
    assert half["event_count"] == SMALL // 2
    assert 0.45 < half["bytes_uncompressed"] / clean.manifest["bytes_uncompressed"] < 0.55
    assert half["file_count"] <= clean.manifest["file_count"]


@pytest.mark.parametrize("events, error", [(999, ValueError), (20_000_001, ValueError), (5000.0, TypeError),
                                           (True, TypeError)])
def test_bad_event_counts_are_refused(tmp_path, events, error):
    with pytest.raises(error, match="events"):
        demo.generate(tmp_path, events=events)


def test_a_foreign_folder_is_never_overwritten(tmp_path):
    (tmp_path / "cloudtrail").mkdir()
    (tmp_path / "cloudtrail" / "mine.json").write_text("{}")
    with pytest.raises(FileExistsError, match="refusing"):
        demo.generate(tmp_path, events=1_000)
    assert (tmp_path / "cloudtrail" / "mine.json").read_text() == "{}"


def test_demo_window_is_fixed(story):
    assert DEMO_WINDOW.history_start == datetime(2026, 10, 1, tzinfo=timezone.utc)
    assert DEMO_WINDOW.detection_start == datetime(2026, 10, 22, tzinfo=timezone.utc)
    assert DEMO_WINDOW.detection_end == datetime(2026, 10, 29, tzinfo=timezone.utc)
    assert DEMO_WINDOW.snapshot_time == datetime(2026, 10, 29, 6, tzinfo=timezone.utc)
    assert story.manifest["window"] == DEMO_WINDOW.as_dict()
    times = sorted(r["eventTime"] for r in story.records)
    assert times[0] >= "2026-10-01T00:00:00Z" and times[-1] < "2026-10-29T00:00:00Z"
    # history covers all three weeks, not only the first hours
    assert times[len(times) // 2] > "2026-10-10"


def test_ensure_generates_once(tmp_path):
    paths = demo.ensure(tmp_path, events=1_000)
    assert paths["cloudtrail"].is_dir() and paths["iam"].is_dir() and paths["manifest"].is_file()
    stamp = paths["manifest"].stat().st_mtime_ns
    assert demo.ensure(tmp_path, events=1_000)["manifest"].stat().st_mtime_ns == stamp
    demo.ensure(tmp_path, events=1_100)
    assert json.loads(paths["manifest"].read_text())["events_requested"] == 1_100


# --- delivery layout and record shapes -----------------------------------------------------------------

def test_files_follow_s3_delivery_layout(story):
    assert len(story.files) > 50
    for rel, recs in story.files.items():
        parts = rel.split("/")
        assert parts[0] == "AWSLogs" and parts[2] == "CloudTrail", rel
        account, region, day = parts[1], parts[3], "-".join(parts[4:7])
        name = FILE_NAME.match(parts[7])
        assert name and name.group(1) == account and name.group(2) == region, rel
        assert 0 < len(recs) <= 250
        for r in recs:
            assert r["recipientAccountId"] == account and r["awsRegion"] == region
            assert r["eventTime"][:10] == day
        times = [r["eventTime"] for r in recs]
        assert times == sorted(times)
        assert ts(times[-1]) - ts(times[0]) < timedelta(minutes=15)
    digests = list((story.root / "cloudtrail").rglob("*CloudTrail-Digest*.json.gz"))
    assert len(digests) == 1
    digest = json.loads(gzip.decompress(digests[0].read_bytes()))
    assert digest["awsAccountId"] == PROD and digest["logFiles"]
    for log_file in digest["logFiles"]:
        raw = gzip.decompress((story.root / "cloudtrail" / log_file["s3Object"]).read_bytes())
        assert hashlib.sha256(raw).hexdigest() == log_file["hashValue"]


def test_every_record_has_the_required_fields(story):
    required = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "eventID", "readOnly",
                "eventType", "managementEvent", "recipientAccountId", "eventCategory"}
    ids = Counter()
    for r in story.records:
        missing = required - set(r)
        assert not missing, (missing, r)
        assert r["eventVersion"] in ("1.09", "1.10")
        assert r["eventType"] in ("AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent")
        assert isinstance(r["readOnly"], bool) and r["managementEvent"] is True and r["eventCategory"] == "Management"
        assert UUID.match(r["eventID"]), r["eventID"]
        ts(r["eventTime"])
        ids[r["eventID"]] += 1
        if r["eventType"] == "AwsApiCall":
            assert r.get("requestID")
        if r.get("errorCode"):
            assert r.get("errorMessage") and r["responseElements"] is None
        identity = r["userIdentity"]
        kind = identity.get("type")
        if kind == "IAMUser" and r["eventName"] == "ConsoleLogin":
            assert identity["userName"]
        elif kind == "IAMUser":
            assert identity["arn"].endswith(":user/" + identity["userName"])
            key = identity["accessKeyId"]
            assert re.fullmatch(r"A[KS]IA[A-Z2-7]{16}", key)
            if key.startswith("ASIA"):  # console session credentials
                assert r["sessionCredentialFromConsole"] == "true"
                assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] in ("true", "false")
        elif kind == "AssumedRole":
            issuer = identity["sessionContext"]["sessionIssuer"]
            assert issuer["type"] == "Role" and identity["arn"].split("/")[1] == issuer["userName"]
            assert identity["accessKeyId"].startswith("ASIA")
            assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
            assert identity["principalId"].startswith(issuer["principalId"] + ":")
        elif kind == "AWSService":
            assert identity["invokedBy"].endswith(".amazonaws.com") and r["sourceIPAddress"] == identity["invokedBy"]
        elif kind == "Root":
            assert identity["arn"] == f"arn:aws:iam::{identity['accountId']}:root" or r["eventName"] == "ConsoleLogin"
        else:
            assert kind is None and r["eventType"] == "AwsServiceEvent" and identity["invokedBy"]
        if "tlsDetails" in r:
            assert r["tlsDetails"]["tlsVersion"].startswith("TLSv1.")
    assert max(ids.values()) == 1
    types = {r["userIdentity"].get("type") for r in story.records}
    assert types == {"IAMUser", "AssumedRole", "AWSService", "Root", None}


def test_console_logins_have_the_sign_in_shape(story):
    logins = [r for r in story.records if r["eventName"] == "ConsoleLogin"]
    assert len(logins) > 30
    for r in logins:
        assert r["eventSource"] == "signin.amazonaws.com" and r["eventType"] == "AwsConsoleSignIn"
        assert r["requestParameters"] is None
        extra = r["additionalEventData"]
        assert extra["MFAUsed"] in ("Yes", "No") and extra["MobileVersion"] == "No" and extra["LoginTo"].startswith("https://")
        outcome = r["responseElements"]["ConsoleLogin"]
        identity = r["userIdentity"]
        if outcome == "Failure":
            assert r["errorMessage"] == "Failed authentication"
            assert "arn" not in identity and identity["userName"]
        else:
            assert outcome == "Success" and "errorMessage" not in r and identity["arn"]


def test_shapes_match_real_aws_events(story):
    """Key sets of real captured events (Stratus Red Team, AWS docs) and of ours agree."""
    optional = {"resources", "sharedEventID", "apiVersion", "vpcEndpointId", "vpcEndpointAccountId",
                "sessionCredentialFromConsole", "additionalEventData", "requestID", "readOnly", "managementEvent",
                "eventCategory", "tlsDetails", "errorCode", "errorMessage"}
    for sample in json.loads((FIXTURES / "real_events.json").read_text()):
        real = sample["event"]
        failed = "errorMessage" in real
        ours = [r for r in story.records if r["eventName"] == real["eventName"] and ("errorMessage" in r) == failed]
        assert ours, sample["source"]
        same_type = [r for r in ours if r["userIdentity"].get("type") == real["userIdentity"]["type"]
                     and r["userIdentity"].get("userName") != "HIDDEN_DUE_TO_SECURITY_REASONS"]
        mine = (same_type or ours)[0]
        assert set(real) - optional <= set(mine), sample["source"]
        assert set(mine) - optional <= set(real), sample["source"]
        if same_type:
            optional_identity = {"sessionContext", "accessKeyId"}
            assert set(real["userIdentity"]) - optional_identity <= set(mine["userIdentity"]), sample["source"]
        if isinstance(real.get("requestParameters"), dict) and real["eventName"] != "RunInstances":
            assert set(real["requestParameters"]) - {"tags"} == set(mine["requestParameters"]), sample["source"]
        if isinstance(real.get("responseElements"), dict):
            assert set(real["responseElements"]) == set(mine["responseElements"] or {}), sample["source"]


# --- incidents -----------------------------------------------------------------------------------------

def test_every_incident_is_delivered_in_the_detection_week(story):
    assert set(story.incidents) == INCIDENTS
    start, end = DEMO_WINDOW.detection_start, DEMO_WINDOW.detection_end
    for inc in story.manifest["incidents"]:
        events = story.events_of(inc["id"])
        assert events, inc["id"]
        assert [e["eventName"] for e in events] == inc["event_names"]
        times = [ts(e["eventTime"]) for e in events]
        assert start <= min(times) and max(times) < end
        assert inc["first_event_time"] == min(e["eventTime"] for e in events)
        assert inc["last_event_time"] == max(e["eventTime"] for e in events)
        assert all(e["sourceIPAddress"] == inc["source_ip"] for e in events), inc["id"]
        assert all(e["recipientAccountId"] == inc["account_id"] for e in events)
        if inc["principal_arn"] and inc["id"] != "leaked_key_persistence":
            assert all(e["userIdentity"].get("arn", inc["principal_arn"]) == inc["principal_arn"] for e in events)
        if inc["access_key_id"]:
            assert any(e["userIdentity"].get("accessKeyId") == inc["access_key_id"] for e in events)
        for e in events:  # attackers come from outside the organisation
            assert not any(ipaddress.ip_address(e["sourceIPAddress"]) in n for n in ORG_NETWORKS)


def test_console_incidents(story):
    root = story.events_of("root_console_login_no_mfa")
    assert root[0]["eventName"] == "ConsoleLogin" and root[0]["userIdentity"]["type"] == "Root"
    assert root[0]["responseElements"]["ConsoleLogin"] == "Success"
    assert root[0]["additionalEventData"]["MFAUsed"] == "No"
    assert {e["eventName"] for e in root[1:]} >= {"ListUsers", "GetAccountSummary"}
    assert all(e["userIdentity"]["type"] == "Root" and e["sessionCredentialFromConsole"] == "true" for e in root[1:])

    brute = [e for e in story.events_of("brute_force_then_success") if e["eventName"] == "ConsoleLogin"]
    failures = [e for e in brute if e["responseElements"]["ConsoleLogin"] == "Failure"]
    success = [e for e in brute if e["responseElements"]["ConsoleLogin"] == "Success"]
    assert len(failures) >= 15 and len(success) == 1
    assert {e["userIdentity"]["userName"] for e in brute} == {"carol"}
    assert ts(failures[-1]["eventTime"]) - ts(failures[0]["eventTime"]) <= timedelta(minutes=10)
    assert success[0]["eventTime"] > failures[-1]["eventTime"]
    assert success[0]["additionalEventData"]["MFAUsed"] == "No"
    assert len({e["sourceIPAddress"] for e in brute}) == 1

    spray = story.events_of("password_spray")
    assert all(e["responseElements"]["ConsoleLogin"] == "Failure" for e in spray)
    assert len({e["userIdentity"]["userName"] for e in spray}) >= 8
    assert "HIDDEN_DUE_TO_SECURITY_REASONS" in {e["userIdentity"]["userName"] for e in spray}
    assert ts(spray[-1]["eventTime"]) - ts(spray[0]["eventTime"]) <= timedelta(minutes=20)


def test_leaked_key_story(story, clean):
    key = story.incidents["leaked_key_first_use"]["access_key_id"]
    assert key.startswith("AKIA")
    owner = [p for p in story.manifest["principals"] if key in p.get("access_key_ids", [])]
    assert [p["name"] for p in owner] == ["ci-deploy"]
    normal = [r for r in story.records
              if r["userIdentity"].get("accessKeyId") == key and r["eventID"] not in story.incident_ids]
    assert {r["sourceIPAddress"] for r in normal} == set(owner[0]["source_ips"]) and len(owner[0]["source_ips"]) == 2
    assert {r["awsRegion"] for r in normal} <= {"us-east-1", "us-west-2"}
    attacker_ip = story.incidents["leaked_key_first_use"]["source_ip"]
    first_attacker = min((r for r in story.records if r["sourceIPAddress"] == attacker_ip),
                         key=lambda r: r["eventTime"])
    assert first_attacker["eventName"] == "GetCallerIdentity"
    assert story.events_of("leaked_key_first_use")[0]["userAgent"] not in {r["userAgent"] for r in normal}

    recon = story.events_of("leaked_key_recon")
    assert len(recon) >= 40 and all(re.match(r"(List|Describe|Get)", e["eventName"]) for e in recon)
    assert len({e["eventSource"] for e in recon}) >= 8 and len({e["awsRegion"] for e in recon}) >= 5
    assert ts(recon[-1]["eventTime"]) - ts(recon[0]["eventTime"]) <= timedelta(minutes=15)

    denied = story.events_of("leaked_key_access_denied_burst")
    assert len({e["eventName"] for e in denied}) >= 12
    assert {e["errorCode"] for e in denied} <= {"AccessDenied", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
    assert ts(denied[-1]["eventTime"]) - ts(denied[0]["eventTime"]) <= timedelta(minutes=10)

    escalation = {e["eventName"]: e for e in story.events_of("leaked_key_privilege_escalation")}
    attach = escalation["AttachUserPolicy"]["requestParameters"]
    assert attach == {"userName": "ci-deploy", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
    inline = json.loads(escalation["PutUserPolicy"]["requestParameters"]["policyDocument"])
    assert {"Effect": "Allow", "Action": "*", "Resource": "*"} in inline["Statement"]

    persistence = story.events_of("leaked_key_persistence")
    names = [e["eventName"] for e in persistence]
    assert names[:3] == ["CreateUser", "AttachUserPolicy", "CreateAccessKey"]
    new_key = persistence[2]["responseElements"]["accessKey"]["accessKeyId"]
    assert new_key == story.incidents["leaked_key_persistence"]["created_access_key_id"]
    used = [e for e in persistence if e["userIdentity"].get("accessKeyId") == new_key]
    assert used and all(e["userIdentity"]["userName"] == "svc-backup" for e in used)

    mining = story.events_of("leaked_key_cryptomining")
    quotas = [e for e in mining if e["eventName"] == "GetServiceQuota"]
    assert all(e["requestParameters"]["quotaCode"] == "L-1216C47A" for e in quotas)
    assert len({e["awsRegion"] for e in quotas}) >= 6
    runs = [e for e in mining if e["eventName"] == "RunInstances"]
    assert {e["awsRegion"] for e in runs} == {"ap-southeast-1"}
    assert all(e["requestParameters"]["instancesSet"]["items"][0]["maxCount"] >= 10 for e in runs)
    assert {e["requestParameters"]["instanceType"] for e in runs} == {"p3.2xlarge", "g4dn.12xlarge"}
    assert {e.get("errorCode") for e in runs} == {"VcpuLimitExceeded", "Client.UnauthorizedOperation", None}
    assert "ap-southeast-1" not in {r["awsRegion"] for r in clean.records}

    (kali,) = story.events_of("leaked_key_kali_user_agent")
    assert "kali" in kali["userAgent"] and kali["userIdentity"]["accessKeyId"] == key
    assert not any("kali" in r["userAgent"] for r in story.records if r["eventID"] != kali["eventID"])


def test_defense_evasion_incidents(story):
    (stop,) = story.events_of("cloudtrail_stopped")
    assert stop["eventName"] == "StopLogging" and stop["requestParameters"]["name"].endswith(":trail/org-trail")
    (detector,) = story.events_of("guardduty_deleted")
    assert detector["eventName"] == "DeleteDetector" and detector["eventSource"] == "guardduty.amazonaws.com"
    (bucket,) = story.events_of("public_bucket_policy")
    statement = bucket["requestParameters"]["bucketPolicy"]["Statement"][0]
    assert bucket["eventName"] == "PutBucketPolicy" and statement["Principal"] == "*"
    key = story.incidents["leaked_key_first_use"]["access_key_id"]
    assert {stop["userIdentity"]["accessKeyId"], detector["userIdentity"]["accessKeyId"],
            bucket["userIdentity"]["accessKeyId"]} == {key}
    # Nothing is delivered while the trail is stopped; alice's restart is the first event after it.
    (gap,) = story.manifest["logging_gaps"]
    inside = [r for r in story.records if gap["start"] <= r["eventTime"] < gap["end"]]
    assert inside == []
    after = min((r for r in story.records if r["eventTime"] >= gap["end"]), key=lambda r: r["eventTime"])
    assert after["eventName"] == "StartLogging"
    assert after["eventID"] in story.incidents["cloudtrail_stopped"]["recovery_event_ids"]


# --- the clean background ------------------------------------------------------------------------------

def principal(r: dict) -> str:
    identity = r["userIdentity"]
    if identity.get("type") == "AssumedRole":
        return identity["sessionContext"]["sessionIssuer"]["arn"]
    return identity.get("arn") or identity.get("invokedBy")


def test_background_is_clean(clean):
    recs = clean.records
    assert not [r for r in recs if r["userIdentity"].get("type") == "Root"]
    logins = [r for r in recs if r["eventName"] == "ConsoleLogin"]
    assert logins and all(r["responseElements"]["ConsoleLogin"] == "Success" and
                          r["additionalEventData"]["MFAUsed"] == "Yes" for r in logins)
    errors = [r for r in recs if r.get("errorCode")]
    assert 1 <= len(errors) <= 5  # a handful of benign AccessDenied …
    assert len({e["eventTime"][:13] for e in errors}) == len(errors)  # … never two in one hour
    accounts = {a["account_id"]: set(a["regions"]) for a in clean.manifest["accounts"]}
    for r in recs:
        assert r["awsRegion"] in accounts[r["recipientAccountId"]]
        ip = r["sourceIPAddress"]
        if not ip.endswith(".amazonaws.com"):
            assert any(ipaddress.ip_address(ip) in n for n in ORG_NETWORKS), ip


def test_detection_week_brings_nothing_new(clean):
    """No principal shows a new IP, user agent, region, API or (IP, agent) pair after history."""
    seen: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    novel = []
    cut = DEMO_WINDOW.detection_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    for r in sorted(clean.records, key=lambda r: r["eventTime"]):
        who = principal(r)
        facets = {"ip": r["sourceIPAddress"], "ua": r["userAgent"], "region": r["awsRegion"],
                  "api": r["eventSource"] + ":" + r["eventName"], "pair": (r["sourceIPAddress"], r["userAgent"])}
        for facet, value in facets.items():
            if r["eventTime"] < cut:
                seen[who][facet].add(value)
            elif value not in seen[who][facet]:
                novel.append((who, facet, value))
    assert novel == []
    assert sum(r["eventTime"] >= cut for r in clean.records) > SMALL // 6


def test_background_has_a_weekly_and_daily_rhythm(clean):
    weekdays = Counter(ts(r["eventTime"]).weekday() for r in clean.records)
    assert min(weekdays[d] for d in range(5)) > 2 * max(weekdays[5], weekdays[6])
    logins = [ts(r["eventTime"]) for r in clean.records if r["eventName"] == "ConsoleLogin"]
    assert all(t.weekday() < 5 and 8 <= t.hour < 22 for t in logins)
    hours = Counter(ts(r["eventTime"]).hour for r in clean.records)
    assert sum(hours[h] for h in range(13, 22)) > sum(hours[h] for h in range(5, 11)) * 2


# --- the IAM snapshot ----------------------------------------------------------------------------------

def snapshot_json(d: Demo, account: str, name: str):
    return json.loads((d.root / "iam" / account / name).read_text())


def test_snapshot_loads_with_the_iam_reader(story):
    from trailbook.iam.snapshot import load_snapshot

    snap = load_snapshot(story.root / "iam")
    assert snap.source == "demo" and snap.collected_at == DEMO_WINDOW.snapshot_time
    assert set(snap.accounts) == {a["account_id"] for a in story.manifest["accounts"]}
    report = snap.credential_report(PROD)
    assert len(report.columns) >= 22 and report["is_root"].sum() == 1
    root = report[report["is_root"]].iloc[0]
    assert not root["mfa_active"] and not root["access_key_1_active"] and not root["access_key_2_active"]


def test_access_keys_agree_with_events(story):
    last_use: dict[str, dict] = {}
    for r in story.records:
        identity = r["userIdentity"]
        key = identity.get("accessKeyId", "")
        if key.startswith("AKIA"):
            assert identity["type"] == "IAMUser"
            if key not in last_use or r["eventTime"] >= last_use[key]["eventTime"]:
                last_use[key] = r
    listed = {}
    for account in ("111111111111", "222222222222", "333333333333"):
        for row in snapshot_json(story, account, "access_keys.json"):
            listed[row["AccessKeyId"]] = (account, row)
    assert last_use
    for key, r in last_use.items():
        account, row = listed[key]
        assert account == r["recipientAccountId"] and row["UserName"] == r["userIdentity"]["userName"]
        assert row["Status"] == "Active" and row["CreateDate"] <= r["eventTime"]
        assert row["LastUsedDate"] == r["eventTime"] and row["LastUsedRegion"] == r["awsRegion"]


def test_passwords_and_access_advisor_agree_with_events(story):
    report = {row["arn"]: row for row in __import__("csv").DictReader(
        (story.root / "iam" / PROD / "credential_report.csv").read_text().splitlines())}
    for r in story.records:
        if r["eventName"] == "ConsoleLogin" and r["responseElements"]["ConsoleLogin"] == "Success" \
                and r["recipientAccountId"] == PROD:
            used = report[r["userIdentity"]["arn"]]["password_last_used"]
            assert used.replace("+00:00", "Z") >= r["eventTime"]
    # Access Advisor: the last event per (entity, service) is the service's LastAuthenticated.
    namespace = {"monitoring": "cloudwatch"}
    last: dict[tuple[str, str], str] = {}
    for r in story.records:
        who = principal(r)
        if r["recipientAccountId"] != PROD or r["userIdentity"].get("type") not in ("IAMUser", "AssumedRole", "Root"):
            continue
        if r["eventName"] in ("GetCallerIdentity", "ConsoleLogin") or who.endswith(":root"):
            continue
        ns = r["eventSource"].split(".")[0]
        key = (who, namespace.get(ns, ns))
        last[key] = max(last.get(key, ""), r["eventTime"])
    advisor = snapshot_json(story, PROD, "service_last_accessed.json")
    checked = 0
    for (who, ns), when in last.items():
        services = {s["ServiceNamespace"]: s for s in advisor[who]["ServicesLastAccessed"]}
        if ns in services:  # only services the entity's policies grant are reported
            assert services[ns]["LastAuthenticated"] == when, (who, ns)
            checked += 1
    assert checked > 15
    auth = snapshot_json(story, PROD, "authorization_details.json")
    entities = [u["Arn"] for u in auth["UserDetailList"]] + [r["Arn"] for r in auth["RoleDetailList"]]
    entities += [g["Arn"] for g in auth["GroupDetailList"]]
    entities += [p["Arn"] for p in auth["Policies"] if not p["Arn"].startswith("arn:aws:iam::aws:")]
    assert sorted(advisor) == sorted(entities)
    assert all(job["JobType"] == "ACTION_LEVEL" and job["JobStatus"] == "COMPLETED" for job in advisor.values())


def test_iam_plants(story):
    plants = {p["id"]: p for p in story.manifest["iam_plants"]}
    assert set(plants) == {"stale_key", "user_without_mfa", "two_active_keys", "over_privileged_role",
                           "root_without_mfa"}
    keys = {row["AccessKeyId"]: row for row in snapshot_json(story, PROD, "access_keys.json")}
    snapshot = DEMO_WINDOW.snapshot_time
    stale = keys[plants["stale_key"]["access_key_id"]]
    assert stale["Status"] == "Active"
    assert 390 <= (snapshot - ts(stale["CreateDate"])).days <= 410
    assert 190 <= (snapshot - ts(stale["LastUsedDate"])).days <= 210
    two = [k for k in keys.values() if k["UserName"] == "svc-reporting"]
    assert len(two) == 2 and all(k["Status"] == "Active" for k in two)
    report = {row["user"]: row for row in __import__("csv").DictReader(
        (story.root / "iam" / PROD / "credential_report.csv").read_text().splitlines())}
    assert report["carol"]["password_enabled"] == "true" and report["carol"]["mfa_active"] == "false"
    assert report["<root_account>"]["mfa_active"] == "false"
    role_arn = plants["over_privileged_role"]["entity_arn"]
    details = snapshot_json(story, PROD, "authorization_details.json")
    role = next(r for r in details["RoleDetailList"] if r["Arn"] == role_arn)
    assert {p["PolicyName"] for p in role["AttachedManagedPolicies"]} == {"AdministratorAccess"}
    services = snapshot_json(story, PROD, "service_last_accessed.json")[role_arn]["ServicesLastAccessed"]
    recent = {s["ServiceNamespace"] for s in services
              if s.get("LastAuthenticated") and snapshot - ts(s["LastAuthenticated"]) <= timedelta(days=90)}
    assert recent == {"s3", "dynamodb"} and len(services) > 20
    used_actions = {a["ActionName"] for s in services for a in s.get("TrackedActionsLastAccessed", [])
                    if "LastAccessedTime" in a}
    assert 0 < len(used_actions) <= 6


def test_snapshot_shows_the_aftermath(story, clean):
    auth = snapshot_json(story, PROD, "authorization_details.json")
    users = {u["UserName"]: u for u in auth["UserDetailList"]}
    assert "AdministratorAccess" in {p["PolicyName"] for p in users["svc-backup"]["AttachedManagedPolicies"]}
    assert "AdministratorAccess" in {p["PolicyName"] for p in users["ci-deploy"]["AttachedManagedPolicies"]}
    assert [p["PolicyName"] for p in users["ci-deploy"]["UserPolicyList"]] == ["ci-deploy-ops"]
    posture = snapshot_json(story, PROD, "posture.json")
    assert posture["guardduty"]["us-east-1"]["DetectorIds"] == []
    (status,) = posture["trail_status"].values()
    assert status["IsLogging"]
    assert status["StopLoggingTime"] == story.incidents["cloudtrail_stopped"]["first_event_time"]
    assert [f["resource"] for f in posture["access_analyzer_findings"]] == ["arn:aws:s3:::acme-prod-customer-exports"]
    assert posture["s3_public_access_block"] is None

    clean_users = {u["UserName"] for u in snapshot_json(clean, PROD, "authorization_details.json")["UserDetailList"]}
    assert "svc-backup" not in clean_users
    clean_posture = snapshot_json(clean, PROD, "posture.json")
    assert clean_posture["guardduty"]["us-east-1"]["DetectorIds"] and clean_posture["access_analyzer_findings"] == []
