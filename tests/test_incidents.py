"""Incidents: correlation on small hand-made findings, then on the demo against its ground truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from trailbook import cli
from trailbook import findings as F
from trailbook import incidents as I

ACCT = "111111111111"


def finding(detection, first, last=None, *, severity="medium", principal=None, key=None, ip=None, mitre=(),
            events=None, **details):
    return {"detection": detection, "severity": severity, "first_seen": first, "last_seen": last or first,
            "account_id": ACCT, "region": "us-east-1", "principal_arn": principal, "access_key_id": key,
            "source_ip": ip, "user_agent": None, "event_names": [], "event_count": 1,
            "event_ids": events or [f"{detection}-{first}"], "mitre": list(mitre), "details": details}


def groups(records):
    """Each incident as a set of detection names, plus the standalone ones."""
    corr = I.correlate(records)
    by_key = {I.finding_key(r): r["detection"] for r in records}
    return ({frozenset(by_key[k] for k in inc.finding_keys) for inc in corr.incidents},
            {by_key[k] for k in corr.standalone})


# --- links ------------------------------------------------------------------------------------


def test_a_shared_key_links_within_the_gap_and_not_beyond():
    records = [finding("a", "2026-10-26T00:00:00Z", "2026-10-26T00:10:00Z", key="AKIA1"),
               finding("b", "2026-10-26T12:09:00Z", key="AKIA1"),  # 11 h 59 min after a ends
               finding("c", "2026-10-27T00:10:00Z", key="AKIA1", severity="high"),  # 12 h 01 min after b
               finding("d", "2026-10-28T00:00:00Z", key="AKIA1")]  # medium, alone: a finding only
    incidents, standalone = groups(records)
    assert incidents == {frozenset({"a", "b"}), frozenset({"c"})}
    assert standalone == {"d"}


def test_a_long_finding_keeps_the_chain_open_until_it_ends():
    records = [finding("long", "2026-10-26T00:00:00Z", "2026-10-26T20:00:00Z", ip="203.0.113.9"),
               finding("short", "2026-10-26T01:00:00Z", ip="203.0.113.9"),
               finding("late", "2026-10-27T07:00:00Z", ip="203.0.113.9")]  # 11 h after `long` ends
    assert groups(records)[0] == {frozenset({"long", "short", "late"})}


def test_a_sign_in_name_and_its_arn_are_one_principal():
    records = [finding("failures", "2026-10-24T02:14:09Z", principal="carol", ip="185.220.101.34"),
               finding("mfa", "2026-10-24T03:00:00Z", principal=f"arn:aws:iam::{ACCT}:user/dev/carol", ip="10.0.0.1")]
    assert groups(records)[0] == {frozenset({"failures", "mfa"})}
    assert I.correlate(records).incidents[0].principals == [f"arn:aws:iam::{ACCT}:user/dev/carol"]


def test_placeholders_and_service_names_never_link():
    records = [finding("x", "2026-10-24T02:00:00Z", principal="HIDDEN_DUE_TO_SECURITY_REASONS", ip="s3.amazonaws.com"),
               finding("y", "2026-10-24T02:01:00Z", principal="HIDDEN_DUE_TO_SECURITY_REASONS", ip="s3.amazonaws.com")]
    assert groups(records) == (set(), {"x", "y"})


def test_redacted_addresses_still_link():
    records = [finding("x", "2026-10-24T02:00:00Z", ip="ip-0a1b2c3d4e5f"),
               finding("y", "2026-10-24T02:01:00Z", ip="ip-0a1b2c3d4e5f")]
    assert groups(records)[0] == {frozenset({"x", "y"})}


def test_an_identity_the_actor_created_joins_its_incident():
    create = finding("created", "2026-10-26T01:52:30Z", key="AKIA1", ip="45.155.205.233", created_user="svc-backup")
    new_key = finding("key_for_other", "2026-10-26T01:54:02Z", key="AKIA1", ip="45.155.205.233",
                      target_users=["svc-backup"], created_keys=["AKIA2"])
    used = finding("backdoor_used", "2026-10-26T02:03:40Z", key="AKIA2", ip="198.51.100.7",
                   principal=f"arn:aws:iam::{ACCT}:user/svc-backup")
    assert groups([create, new_key, used])[0] == {frozenset({"created", "key_for_other", "backdoor_used"})}
    # Only the created key names it: the link still holds.
    assert groups([new_key, {**used, "principal_arn": None}])[0] == {frozenset({"key_for_other", "backdoor_used"})}
    # Without the detection's own columns nothing ties the new key to the old one.
    plain = {**new_key, "details": {}}
    assert groups([plain, used])[0] == set()


def test_details_spread_as_columns_link_the_same_way():
    frame = F.normalize(pd.DataFrame([
        {**{k: v for k, v in finding("a", "2026-10-26T01:00:00Z", key="AKIA1").items() if k != "details"},
         "created_keys": ["AKIA2"]},
        {k: v for k, v in finding("b", "2026-10-26T01:05:00Z", key="AKIA2").items() if k != "details"}]))
    corr = I.correlate(frame)
    assert len(corr.incidents) == 1 and corr.incidents[0].finding_count == 2


# --- severity, chain, singletons, ids ---------------------------------------------------------


def test_three_tactics_raise_severity_one_level():
    chain = [finding("recon", "2026-10-26T01:00:00Z", key="K", mitre=["T1087.004"]),
             finding("escalate", "2026-10-26T01:10:00Z", key="K", mitre=["T1098.003"]),
             finding("backdoor", "2026-10-26T01:20:00Z", key="K", mitre=["T1136.003"])]
    (inc,) = I.correlate(chain).incidents
    assert (inc.severity, inc.highest_finding_severity, inc.raised) == ("high", "medium", True)
    (two,) = I.correlate(chain[:2]).incidents
    assert (two.severity, two.raised) == ("medium", False)
    critical = [dict(chain[0], severity="critical"), *chain[1:]]
    assert I.correlate(critical).incidents[0].severity == "critical"


def test_valid_accounts_alone_is_one_tactic():
    records = [finding("a", "2026-10-26T01:00:00Z", key="K", mitre=["T1078.004"]),
               finding("b", "2026-10-26T01:01:00Z", key="K", mitre=["T1078.004", "T1033"])]
    (inc,) = I.correlate(records).incidents
    assert inc.chain == ["initial-access", "discovery"] and not inc.raised


def test_the_chain_follows_the_attack_matrix_and_keeps_first_seen():
    records = [finding("stop", "2026-10-26T03:14:22Z", key="K", mitre=["T1562.008"]),
               finding("mine", "2026-10-26T02:31:10Z", key="K", mitre=["T1496"]),
               finding("first", "2026-10-26T01:12:07Z", key="K", mitre=["T1078.004"]),
               finding("recon", "2026-10-26T01:15:00Z", key="K", mitre=["T1580", "T1526"]),
               finding("escalate", "2026-10-26T01:44:10Z", key="K", mitre=["T1098.003"])]
    (inc,) = I.correlate(records).incidents
    assert inc.chain == ["initial-access", "privilege-escalation", "defense-evasion", "discovery", "impact"]
    recon = next(s for s in inc.tactics if s["tactic"] == "discovery")
    assert recon["first_seen"] == "2026-10-26T01:15:00Z" and recon["techniques"] == ["T1580", "T1526"]
    assert recon["id"] == "TA0007"
    assert inc.finding_keys[0] == I.finding_key(records[2])  # time order
    assert inc.narrative.startswith("Key K, 2026-10-26T01:12:07Z to 2026-10-26T03:14:22Z: ")


def test_singletons_high_or_worse_become_incidents_posture_never_does():
    records = [finding("h", "2026-10-26T01:00:00Z", severity="high", key="K1"),
               finding("m", "2026-10-26T01:00:00Z", severity="medium", key="K2"),
               {**finding("posture", None, severity="critical", key="K1"), "first_seen": None, "last_seen": None}]
    assert groups(records) == ({frozenset({"h"})}, {"m", "posture"})


def test_incident_id_is_stable_and_depends_on_its_findings():
    # Two findings of one check at one time (they differ by address): time order cannot settle them.
    records = [finding("a", "2026-10-26T01:00:00Z", key="K", ip="192.0.2.1"),
               finding("a", "2026-10-26T01:00:00Z", key="K", ip="192.0.2.2")]
    first = I.correlate(records).incidents[0].id
    assert I.correlate(records[::-1]).incidents[0].id == first
    grown = records + [finding("c", "2026-10-26T01:07:00Z", key="K")]
    assert I.correlate(grown).incidents[0].id != first and re.fullmatch(r"INC-[0-9a-f]{12}", first)


def test_hostile_values_do_not_crash_and_duplicates_count_once():
    records = [finding("a", "not a time", key="K", severity="high"),
               finding("b", "2026-10-26T01:00:00Z", key=None, principal="arn:weird", ip="::1", mitre=["T9999"]),
               finding("c", "2026-10-26T01:00:00Z", ip="::1", severity="high", user_names=["<script>"])]
    records.append(dict(records[2], details={"report": "other"}))  # the same finding shown by two reports
    corr = I.correlate(records)
    assert sorted(corr.standalone) == sorted([I.finding_key(records[0])])
    (inc,) = corr.incidents
    assert inc.finding_count == 2 and inc.chain == []
    odd = [dict(finding("x", "2026-10-26T01:00:00Z", key="K", severity="high"), event_count="many", mitre="T1110"),
           dict(finding("y", "2026-10-26T01:01:00Z", key="K"), details="not an object", event_count=3)]
    (inc,) = I.correlate(odd).incidents
    assert (inc.event_count, inc.chain, inc.finding_count) == (3, ["credential-access"], 2)


def test_every_technique_used_is_mapped_to_a_tactic(catalog):
    used = {m for q in catalog.values() for m in q.mitre}
    lib = Path(I.__file__).parent
    for path in [*lib.glob("analyses/**/*.py"), lib / "reports" / "secrets.py"]:
        used |= set(re.findall(r"[\"'](T\d{4}(?:\.\d{3})?)[\"']", path.read_text(encoding="utf-8")))
    assert used and used - set(I.TECHNIQUE_TACTICS) == set()
    assert all(t in I.TACTIC_ORDER for tactics in I.TECHNIQUE_TACTICS.values() for t in tactics)


# --- the demo ---------------------------------------------------------------------------------

LEAKED_KEY_STORY = {"leaked_key_first_use", "leaked_key_recon", "leaked_key_access_denied_burst",
                    "leaked_key_privilege_escalation", "leaked_key_persistence", "leaked_key_cryptomining",
                    "leaked_key_kali_user_agent", "public_bucket_policy", "guardduty_deleted", "cloudtrail_stopped"}
# The ground truth's stories: the leaked key is one; the spray, the brute force on carol (a day later,
# another address) and the root sign-in (another address, another principal) are three more.
STORIES = {"leaked_key": LEAKED_KEY_STORY, "spray": {"password_spray"}, "brute": {"brute_force_then_success"},
           "root": {"root_console_login_no_mfa"}}


@pytest.fixture(scope="module")
def demo_run(demo_dir, tmp_path_factory):
    """The demo's findings as `trailbook findings` writes them, and their incidents."""
    tmp = tmp_path_factory.mktemp("incidents")
    out = tmp / "findings.jsonl"
    code = cli.main(["findings", "--source", str(demo_dir / "cloudtrail"), "--store", str(tmp / "store"),
                     "--format", "jsonl", "--out", str(out), "--quiet"])
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    manifest = json.loads((demo_dir / "demo_manifest.json").read_text())
    story_of_event = {}
    for story, ids in STORIES.items():
        for entry in manifest["incidents"]:
            if entry["id"] in ids:
                story_of_event.update(dict.fromkeys(entry["event_ids"], story))
    return {"records": records, "corr": I.correlate(records), "story_of_event": story_of_event,
            "store": tmp / "store", "tmp": tmp}


def _stories(records, story_of_event):
    """Which ground-truth stories each finding's events belong to, by finding key."""
    return {I.finding_key(r): {story_of_event[e] for e in r["event_ids"] if e in story_of_event} for r in records}


@pytest.mark.slow
def test_each_story_is_exactly_one_incident(demo_run):
    records, corr = demo_run["records"], demo_run["corr"]
    stories = _stories(records, demo_run["story_of_event"])
    assert all(len(s) <= 1 for s in stories.values()), "a finding mixes two stories' events"
    for story in STORIES:
        wanted = {key for key, s in stories.items() if s == {story}}
        assert wanted, f"no finding of {story}"
        holding = [inc for inc in corr.incidents if set(inc.finding_keys) & wanted]
        assert len(holding) == 1, f"{story} is spread over {len(holding)} incidents"
        assert set(holding[0].finding_keys) == wanted, f"{story}'s incident holds other findings"
    leak = next(inc for inc in corr.incidents if "key_new_source_ip" in inc.detections)
    assert leak.source_ips == ["45.155.205.233"] and "svc-backup" in leak.identities
    assert len(leak.access_key_ids) == 2  # ci-deploy's leaked key and the backdoor's new one
    assert leak.severity == "critical" and leak.first_seen == "2026-10-26T01:12:07Z"


@pytest.mark.slow
def test_demo_chains_are_in_attack_order(demo_run):
    for inc in demo_run["corr"].incidents:
        order = [I.TACTIC_ORDER[t] for t in inc.chain]
        assert order == sorted(order) and len(set(order)) == len(order)
    leak = next(inc for inc in demo_run["corr"].incidents if "key_new_source_ip" in inc.detections)
    wanted = ["initial-access", "persistence", "privilege-escalation", "defense-evasion", "discovery", "impact"]
    assert [t for t in leak.chain if t in wanted] == wanted
    spray = next(inc for inc in demo_run["corr"].incidents if "console_password_spray" in inc.detections)
    assert spray.chain == ["credential-access"] and spray.source_ips == ["45.155.205.91"]


@pytest.mark.slow
def test_no_finding_is_lost(demo_run):
    records, corr = demo_run["records"], demo_run["corr"]
    keys = [I.finding_key(r) for r in records]
    placed = [k for inc in corr.incidents for k in inc.finding_keys] + corr.standalone
    assert len(placed) == len(set(placed)), "a finding is in two places"
    assert set(placed) == set(keys) and len(records) > 0


@pytest.mark.slow
def test_a_report_writes_incidents_and_opens_with_them(demo_run, demo_dir):
    from trailbook import reports

    notebooks = Path(__file__).parent / "fixtures" / "notebooks"
    result = reports.run_report(["report_ok"], engine="local", start="2026-10-22T00:00:00Z",
                                end="2026-10-29T00:00:00Z", out_dir=demo_run["tmp"] / "out", progress=False,
                                params={"source": str(demo_dir / "cloudtrail"), "store": str(demo_run["store"])},
                                notebooks_dir=notebooks)
    run = result.run_dir
    written = I.read_jsonl(run / "incidents.jsonl")
    stories = _stories(F.to_records(F.read_jsonl(run / "findings.jsonl")), demo_run["story_of_event"])
    root = {key for key, s in stories.items() if s == {"root"}}
    assert [set(inc["finding_keys"]) for inc in written] == [root] and root
    manifest = json.loads((run / "manifest.json").read_text())
    assert "incidents.jsonl" in manifest["files"] and "incidents.jsonl" in (run / "SHA256SUMS").read_text()
    page = (run / "index.html").read_text()
    assert page.index(f"id='{written[0]['id']}'") < page.index("<h2>Reports</h2>") < page.index("Findings by check")
    for key in root:
        assert f"href='#finding-{key}'" in page and f"id='finding-{key}'" in page
    assert "Root user activity" in page  # the check's title, not only its name


def test_the_terminal_names_the_top_incidents(tmp_path, capsys):
    records = [finding("recon", "2026-10-26T01:00:00Z", key="K", mitre=["T1087.004"], severity="high"),
               finding("escalate", "2026-10-26T01:10:00Z", key="K", mitre=["T1098.003"]),
               finding("lone", "2026-10-27T01:10:00Z", key="K2", severity="critical")]
    written = I.write_jsonl(I.correlate(records, titles={"recon": "Discovery burst"}), tmp_path / "incidents.jsonl")
    cli._print_incidents(tmp_path, top=1)
    err = capsys.readouterr().err.splitlines()
    assert written == 2 and err[0] == "  2 incident(s); most severe first:" and len(err) == 2
    assert err[1].startswith("  [critical] INC-") and "2026-10-27T01:10:00Z, 1 findings" in err[1]
    cli._print_incidents(None)
    cli._print_incidents(tmp_path / "missing")
    assert capsys.readouterr().err == ""


def test_posture_findings_from_a_snapshot_are_never_incidents():
    # Snapshot checks carry the snapshot's time and no events: they describe set-up, not activity.
    posture = [dict(finding("cis_1_5_root_mfa", "2026-10-29T06:00:00Z", severity="critical",
                            principal="arn:aws:iam::111111111111:root"), event_count=0),
               dict(finding("unused_permissions_over_privileged", "2026-10-29T06:00:00Z", severity="high",
                            principal="arn:aws:iam::111111111111:root"), event_count=0)]
    login = finding("root_activity", "2026-10-29T05:00:00Z", severity="critical",
                    principal="arn:aws:iam::111111111111:root")
    corr = I.correlate([*posture, login])
    assert [inc.finding_count for inc in corr.incidents] == [1]
    assert sorted(corr.standalone) == sorted(I.finding_key(r) for r in posture)
