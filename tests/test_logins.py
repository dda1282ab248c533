"""Console sign-ins on real data: Stratus, the AWS docs' sign-in examples, Panther's rule tests and
its compromised-root scenario; the GeoIP lookup layer on a MaxMind DB written here; the analysis.

Fixtures are copies under tests/fixtures/logins/ (see tests/fixtures/ATTRIBUTION.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import struct
from pathlib import Path

import pandas as pd
import pytest

from conftest import FIXTURES, local_session
from trailbook import params as P
from trailbook.analyses import logins
from trailbook.catalog import load_catalog
from trailbook.geoip import GeoIP, GeoIPError
from trailbook.plots import logins as login_plots

LOGINS = FIXTURES / "logins"
CATALOG = load_catalog()


def _session(records, tmp_path, start, end):
    return local_session(records, tmp_path, start=start, end=end, catalog=CATALOG)


def _ids(frame: pd.DataFrame) -> set[str]:
    return {i for ids in frame["event_ids"] for i in ids}


# --- Stratus: console-login-without-mfa detonation -----------------------------------------

def test_stratus_console_login_without_mfa_is_found(tmp_path):
    events = json.loads((LOGINS / "stratus_console_login_without_mfa.json").read_text())
    login = next(e for e in events if e["eventName"] == "ConsoleLogin")
    session = _session(events, tmp_path, "2024-08-02T00:00:00Z", "2024-08-03T00:00:00Z")
    rows = session.run("console_login_without_mfa")
    assert list(rows["principal_arn"]) == [login["userIdentity"]["arn"]]
    assert rows.loc[0, "event_ids"] == [login["eventID"]]
    assert rows.loc[0, "source_ip"] == login["sourceIPAddress"]
    assert rows.loc[0, "severity"] == "medium"
    timeline = logins.login_timeline(session)
    assert timeline[["outcome", "mfa_used", "federated"]].values.tolist() == [["Success", False, False]]


# --- AWS docs sign-in examples ------------------------------------------------------------

def _docs():
    return [json.loads(line) for line in (LOGINS / "awsdocs_signin_examples.jsonl").read_text().splitlines()]


def _unique_ids(examples):
    """Two pairs of the docs' examples share an eventID upstream; give the second of each a suffix."""
    seen, events = set(), []
    for example in examples:
        event = copy.deepcopy(example["event"])
        while event["eventID"] in seen:
            event["eventID"] += "-2"
        seen.add(event["eventID"])
        events.append((example["section"], event))
    return events


def test_every_aws_docs_signin_example_is_classified(tmp_path):
    examples = _unique_ids(_docs())
    session = _session([e for _, e in examples], tmp_path, "2022-11-10T00:00:00Z", "2022-11-11T00:00:00Z")
    timeline = logins.login_timeline(session).set_index("eventid")
    no_mfa = _ids(session.run("console_login_without_mfa"))
    root = session.run("root_activity")
    failures = _ids(session.run("console_login_failures"))
    mfa_changes = session.run("mfa_device_changed")
    passwords = session.run("password_changed")
    checked = 0
    for section, event in examples:
        eid = event["eventID"]
        is_root = section.startswith("Root user")
        if event["eventName"] == "ConsoleLogin":
            row = timeline.loc[eid]
            failed = "unsuccessful" in section
            with_mfa = "with MFA" in section and "without MFA" not in section
            assert row["identity_type"] == ("Root" if is_root else "IAMUser"), section
            assert row["outcome"] == ("Failure" if failed else "Success"), section
            assert (eid in failures) == failed, section
            if not failed:
                assert bool(row["mfa_used"]) == with_mfa, section
                assert (eid in no_mfa) == (not with_mfa), section
            if is_root:
                finding = root[root["event_ids"].map(lambda ids: eid in ids)]
                assert len(finding) == 1, section
        elif event["eventName"] == "CheckMfa":
            assert eid not in timeline.index, section
        elif section == "Root user, MFA changed":
            assert mfa_changes["event_ids"].tolist() == [[eid]] and mfa_changes.loc[0, "severity"] == "high"
        elif section == "Root user, password changed":
            assert passwords["event_ids"].tolist() == [[eid]] and passwords.loc[0, "severity"] == "high"
        else:
            continue
        checked += 1
    assert checked == 10
    # Root with MFA (the docs spell it "YES") stays high; root without MFA is critical.
    by_ip_severity = sorted(root["severity"])
    assert "critical" in by_ip_severity
    assert (timeline["mfa_used"] & timeline["identity_type"].eq("Root")).sum() == 1


# --- Panther rule tests --------------------------------------------------------------------

def _fires(query, **params):
    def check(session):
        return len(session.run(query, **params)) > 0
    return check


def _root_login(session):
    timeline = logins.login_timeline(session)
    return bool((timeline["identity_type"].eq("Root") & timeline["outcome"].eq("Success")).any())


def _login_without_saml(session):
    timeline = logins.login_timeline(session)
    return bool((timeline["outcome"].eq("Success") & ~timeline["federated"]).any())


def _profile_modified_no_reset(session):
    rows = session.run("login_profile_changed_by_other")
    return bool((~rows["password_reset_required"].astype(bool)).any()) if len(rows) else False


def _root_password_changed(session):
    rows = session.run("password_changed")
    return bool(rows["severity"].eq("high").any())


# Panther's single-event rules against the query that answers the same question. Threshold rules
# (spraying, brute force, root failures) alert per event, so their queries run with a threshold of 1.
PANTHER_RULES = {
    "AWS.Console.LoginWithoutMFA": _fires("console_login_without_mfa"),
    "AWS.Console.LoginWithoutSAML": _login_without_saml,
    "AWS.Console.RootLogin": _root_login,
    "AWS.Console.RootLoginFailed": _fires("console_brute_force", root_brute_force_threshold=1, brute_force_threshold=10_000),
    "AWS.Console.GetSigninToken.Abuse": _fires("get_signin_token_abuse"),
    "AWS.Unsuccessful.MFA.attempt": _fires("console_login_mfa_failure"),
    "AWS.CloudTrail.PasswordSpraying": _fires("console_password_spray", spray_min_users=1),
    "AWS.CloudTrail.LoginProfileCreatedOrModified": _fires("login_profile_changed_by_other"),
    "AWS.User.Login.Profile.Modified": _profile_modified_no_reset,
    "AWS.CloudTrail.RootPasswordChanged": _root_password_changed,
    "Standard.BruteForceByIP": _fires("console_brute_force", brute_force_threshold=1, root_brute_force_threshold=1),
    "Standard.BruteForceByUser": _fires("console_brute_force", brute_force_threshold=1, root_brute_force_threshold=1),
}
# Mocks that decide a rule's outcome (rather than only its alert title, like geoinfo_from_ip):
# Panther's new-account suppression answering "new", and its allow-list of external-IdP roles.
DECIDING_MOCKS = {("check_account_age", "True"), ("ROLES_VIA_EXTERNAL_IDP", True)}
OUT_OF_SCOPE = {"AWS.Console.Sign-In"}  # an IAM Identity Center portal event, not a console sign-in


def _panther_cases():
    return [json.loads(line) for line in (LOGINS / "panther_login_rule_tests.jsonl").read_text().splitlines()]


def _decided_by_mocks(case) -> bool:
    return any((m["objectName"], m["returnValue"]) in DECIDING_MOCKS for m in case.get("mocks") or [])


def _selected():
    kept, excluded = [], {"mocks": [], "not_cloudtrail": [], "out_of_scope": []}
    for case in _panther_cases():
        if case["rule_id"] in OUT_OF_SCOPE:
            excluded["out_of_scope"].append(case)
        elif "eventSource" not in case["log"]:
            excluded["not_cloudtrail"].append(case)  # the Standard.* rules' Okta, Box, GSuite... tests
        elif _decided_by_mocks(case):
            excluded["mocks"].append(case)
        elif case["rule_id"] in PANTHER_RULES:
            kept.append(case)
    return kept, excluded


def test_panther_selection_states_what_it_leaves_out():
    kept, excluded = _selected()
    assert {c["rule_id"] for c in kept} == set(PANTHER_RULES)
    assert len(excluded["mocks"]) == 2
    assert sorted(c["test_name"] for c in excluded["mocks"]) == [
        "No MFA - IAM Role and External IDP", "No MFA Login - New User"]
    assert len(excluded["not_cloudtrail"]) == 26
    assert len(excluded["out_of_scope"]) == 1
    assert len(kept) + 2 + 26 + 1 == len(_panther_cases()) == 65


def _normalise_time(value) -> str:
    try:
        return P.iso(pd.Timestamp(value).to_pydatetime())
    except (ValueError, TypeError):
        return "2019-01-01T00:00:00Z"  # Panther's hand-written events sometimes omit or redact it


@pytest.mark.parametrize("case", _selected()[0], ids=lambda c: f"{c['rule_id']}:{c['test_name']}")
def test_panther_rule_test_agrees(case, tmp_path):
    event = copy.deepcopy(case["log"])
    event = {k: v for k, v in event.items() if not k.startswith("p_")}
    event["eventID"] = "panther-test-event"
    event["eventTime"] = _normalise_time(event.get("eventTime"))
    event.setdefault("sourceIPAddress", "192.0.2.10")  # some hand-written tests leave it out
    event.setdefault("recipientAccountId", (event.get("userIdentity") or {}).get("accountId") or "123456789012")
    when = pd.Timestamp(event["eventTime"]).to_pydatetime()
    session = _session([event], tmp_path, when - dt.timedelta(days=1), when + dt.timedelta(days=1))
    assert PANTHER_RULES[case["rule_id"]](session) is case["expected_result"]


# --- Panther compromised-root-creds scenario -------------------------------------------------

ATTACKER_IP, LEGIT_IP = "92.55.146.245", "71.253.251.71"  # from the scenario's README


def _scenario(tmp_path, start="2020-10-28T00:00:00Z"):
    data = json.loads((LOGINS / "panther_compromised_root_creds.json").read_text())
    return _session(data["victim"] + data["attacker"], tmp_path, start, "2020-11-02T00:00:00Z"), data


def test_compromised_root_scenario(tmp_path):
    session, data = _scenario(tmp_path)
    found = logins.findings(session, baseline_days=27, success_lookback_minutes=2880,
                            allowed_cidrs=["71.253.251.0/24"])
    attacker_success = next(e["eventID"] for e in data["attacker"]
                            if e["eventName"] == "ConsoleLogin" and e["responseElements"]["ConsoleLogin"] == "Success")
    by_detection = {d: part for d, part in found.groupby("detection")}
    root = by_detection["root_activity"]
    assert list(root["source_ip"]) == [ATTACKER_IP] and list(root["severity"]) == ["critical"]
    after = by_detection["console_login_after_failures"]
    assert list(after["source_ip"]) == [ATTACKER_IP] and after.iloc[0]["failures"] == 3
    assert after.iloc[0]["severity"] == "critical"
    new = by_detection["console_login_new_source"]
    assert list(new["source_ip"]) == [ATTACKER_IP] and new.iloc[0]["severity"] == "medium"
    assert new.iloc[0]["event_ids"] == [attacker_success]
    outside = by_detection["console_login_outside_allowed_ranges"]
    assert list(outside["source_ip"]) == [ATTACKER_IP]
    assert LEGIT_IP not in set(found.loc[found["detection"].ne("root_activity"), "source_ip"])
    assert found.iloc[0]["severity"] == "critical"
    assert any("Country allow-list: not checked" in line for line in found.attrs["notes"])


# --- brute force, spraying, parameters ----------------------------------------------------

def _failure(eid: str, t: dt.datetime, user: str = "alice", ip: str = "198.51.100.1", root: bool = False) -> dict:
    docs = {e["section"]: e["event"] for e in _docs()}
    event = copy.deepcopy(docs["Root user, unsuccessful sign-in" if root else "IAM user, unsuccessful sign-in"])
    event.update(eventID=eid, eventTime=P.iso(t), sourceIPAddress=ip)
    if not root:
        event["userIdentity"]["userName"] = user
    return event


T0 = dt.datetime(2026, 10, 22, 9, 0, tzinfo=dt.timezone.utc)


def test_brute_force_counts_only_failures_inside_a_burst(tmp_path):
    quick = [_failure(f"q{i}", T0 + dt.timedelta(minutes=i)) for i in range(4)]           # 4 in 3 min
    slow = [_failure(f"s{i}", T0 + dt.timedelta(hours=2, minutes=20 * i)) for i in range(3)]  # spread out
    session = _session(quick + slow, tmp_path, "2026-10-22T00:00:00Z", "2026-10-23T00:00:00Z")
    rows = session.run("console_brute_force", brute_force_threshold=4, brute_force_window_minutes=5)
    assert rows["event_ids"].tolist() == [[f"q{i}" for i in range(4)]]
    assert rows.loc[0, "event_count"] == 4 and rows.loc[0, "user_name"] == "alice"
    assert len(session.run("console_brute_force", brute_force_threshold=5, brute_force_window_minutes=5)) == 0
    assert session.run("console_brute_force", brute_force_threshold=4, brute_force_window_minutes=60)["event_count"].tolist() == [4]
    assert session.run("console_brute_force", brute_force_threshold=4, brute_force_window_minutes=180)["event_count"].tolist() == [7]


def test_spray_counts_hidden_names_as_distinct(tmp_path):
    hidden = [_failure(f"h{i}", T0 + dt.timedelta(minutes=i), user="HIDDEN_DUE_TO_SECURITY_REASONS") for i in range(4)]
    session = _session(hidden + [_failure("a", T0, user="alice")], tmp_path, "2026-10-22T00:00:00Z", "2026-10-23T00:00:00Z")
    rows = session.run("console_password_spray", spray_min_users=5)
    assert rows.loc[0, "user_count"] == 5 and rows.loc[0, "event_count"] == 5
    assert len(session.run("console_password_spray", spray_min_users=6)) == 0


def test_bad_parameters_fail_clearly(tmp_path):
    session = _session([_failure("x", T0)], tmp_path, "2026-10-22T00:00:00Z", "2026-10-23T00:00:00Z")
    with pytest.raises(P.ParameterError, match="IPv6"):
        logins.findings(session, allowed_cidrs=["2001:db8::/32"])
    with pytest.raises(P.ParameterError, match="two-letter"):
        logins.findings(session, allowed_countries=["Germany"])
    with pytest.raises(P.ParameterError, match="below the minimum"):
        session.run("console_brute_force", brute_force_threshold=0)


# --- GeoIP: a MaxMind DB written per the spec (IPv4 tree, 24-bit records) ------------------

def _mmdb_value(value) -> bytes:
    def head(kind: int, size: int) -> bytes:
        assert size < 29
        return bytes([(kind << 5) | size]) if kind <= 7 else bytes([size, kind - 7])
    if isinstance(value, str):
        raw = value.encode()
        return head(2, len(raw)) + raw
    if isinstance(value, dict):
        return head(7, len(value)) + b"".join(_mmdb_value(k) + _mmdb_value(v) for k, v in value.items())
    if isinstance(value, list):
        return head(11, len(value)) + b"".join(_mmdb_value(v) for v in value)
    if isinstance(value, tuple):  # (type, int): 5 uint16, 6 uint32, 9 uint64
        kind, number = value
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return head(kind, len(raw)) + raw
    raise TypeError(value)


def write_mmdb(path: Path, networks: dict[str, str]) -> Path:
    """A minimal IPv4 MaxMind DB mapping each network to {"country": {"iso_code": code}}."""
    nodes: list[list] = [[None, None]]
    data, offsets = b"", {}
    for network, code in networks.items():
        if code not in offsets:
            offsets[code] = len(data)
            data += _mmdb_value({"country": {"iso_code": code}})
        net = ipaddress.ip_network(network)
        bits, node = int(net.network_address), 0
        for depth in range(net.prefixlen):
            bit = (bits >> (31 - depth)) & 1
            if depth == net.prefixlen - 1:
                nodes[node][bit] = ("data", offsets[code])
            else:
                if not isinstance(nodes[node][bit], int):
                    nodes.append([None, None])
                    nodes[node][bit] = len(nodes) - 1
                node = nodes[node][bit]
    count = len(nodes)

    def record(value) -> int:
        if value is None:
            return count
        if isinstance(value, tuple):
            return count + 16 + value[1]
        return value
    tree = b"".join(struct.pack(">I", record(l))[1:] + struct.pack(">I", record(r))[1:] for l, r in nodes)
    metadata = _mmdb_value({
        "node_count": (6, count), "record_size": (5, 24), "ip_version": (5, 4),
        "database_type": "trailbook-test-country", "languages": ["en"],
        "binary_format_major_version": (5, 2), "binary_format_minor_version": (5, 0),
        "build_epoch": (9, 1_700_000_000), "description": {"en": "test"},
    })
    path.write_bytes(tree + b"\x00" * 16 + data + b"\xab\xcd\xefMaxMind.com" + metadata)
    return path


def test_geoip_lookup(tmp_path):
    db = write_mmdb(tmp_path / "t.mmdb", {"92.55.0.0/16": "RU", "71.253.251.0/24": "US"})
    with GeoIP(db) as geo:
        assert geo.database_type == "trailbook-test-country"
        assert geo.country("92.55.146.245") == "RU"
        assert geo.country("71.253.251.71") == "US"
        assert geo.country("71.253.252.1") is None
        assert geo.country("AWS Internal") is None
        assert geo.country("2001:db8::1") is None
    with pytest.raises(GeoIPError, match="does not exist"):
        GeoIP(tmp_path / "missing.mmdb")
    (tmp_path / "junk.mmdb").write_bytes(b"not a database")
    with pytest.raises(GeoIPError, match="not a MaxMind DB"):
        GeoIP(tmp_path / "junk.mmdb")


def test_country_allow_list(tmp_path):
    session, _ = _scenario(tmp_path)
    db = write_mmdb(tmp_path / "t.mmdb", {"92.55.0.0/16": "RU", "71.253.251.0/24": "US"})
    found = logins.findings(session, allowed_countries=["us"], geoip_db=str(db))
    country = found[found["detection"].eq(logins.COUNTRY_DETECTION)]
    assert country["source_ip"].tolist() == [ATTACKER_IP] and country["country"].tolist() == ["RU"]
    assert country["severity"].tolist() == ["high"]
    # The attacker's range allowed by CIDR: no country finding; an allowed country drops the range finding.
    found = logins.findings(session, allowed_countries=["US"], allowed_cidrs=["92.55.0.0/16"], geoip_db=str(db))
    assert logins.COUNTRY_DETECTION not in set(found["detection"])
    found = logins.findings(session, allowed_countries=["RU"], allowed_cidrs=["10.0.0.0/8"], geoip_db=str(db))
    assert "console_login_outside_allowed_ranges" not in set(found["detection"])
    skipped = logins.findings(session, allowed_countries=["US"])
    assert any("NOT CHECKED" in line for line in skipped.attrs["notes"])
    assert "NOT CHECKED" in logins.notes(skipped)._repr_markdown_()


# --- timeline, summary and plots --------------------------------------------------------------

def test_summary_and_plots(tmp_path):
    session, data = _scenario(tmp_path, start="2020-10-01T00:00:00Z")
    timeline = logins.login_timeline(session)
    table = logins.summary(timeline)
    row = table.set_index("user_name").loc["root"]
    logins_in = [e for e in data["victim"] + data["attacker"] if e["eventName"] == "ConsoleLogin"]
    assert row["failures"] == sum(e["responseElements"]["ConsoleLogin"] == "Failure" for e in logins_in) == 3
    assert row["successes"] == row["successes_without_mfa"] == 4
    assert row["source_ips"] == 2
    fig = login_plots.timeline(timeline)
    assert fig.axes[0].get_yticklabels()[0].get_text().startswith("root")
    bars = login_plots.failures_by_source(timeline, freq="1D")
    assert sum(p.get_height() for p in bars.axes[0].patches) == 3
    assert login_plots.timeline(timeline.iloc[0:0]).axes[0].texts[0].get_text().startswith("No console")
