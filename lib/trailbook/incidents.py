"""Incidents: findings correlated into what one actor did, with severity, ATT&CK tactic chain and narrative.

Two findings are linked when they share an entity and their time spans lie within `MAX_GAP` of each
other. Entities: the access key, the principal (an IAM user's sign-in name and ARN are one
principal), an identity the finding's own columns say was created or handed credentials
(`DERIVED_FIELDS`, e.g. `created_user` or `created_keys`), and the exact source address. An
incident is a connected group of linked findings (union-find). A group of one finding is an
incident only when that finding is `high` or worse; the rest stay findings only. Posture findings
without a time (snapshot checks) are never linked: an incident is something that happened.

Severity: the highest of the incident's findings, raised one level (at most to critical) when the
findings span `RAISE_AT_TACTICS` or more ATT&CK tactics. The tactic chain lists each tactic once, in
the order of ATT&CK's Enterprise matrix (its kill-chain order), with when it was first seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import findings as F
from .contract import SEVERITIES

# Two findings on one entity further apart than this are separate incidents. An attacker working a
# stolen credential acts in bursts of minutes to hours; a link half a day old is more often a shared
# address or a routine job than the same hands. (On the demo the spray and the brute force on carol
# a day later share the name "carol" 23 hours apart: two incidents, as its ground truth says.)
MAX_GAP = dt.timedelta(hours=12)
RAISE_AT_TACTICS = 3
MIN_SINGLETON = "high"
# AWS's placeholder for a failed sign-in with an unknown user name: never the same person.
_NOT_A_PRINCIPAL = {"HIDDEN_DUE_TO_SECURITY_REASONS", "ANONYMOUS_PRINCIPAL"}
_PSEUDONYM_IP = re.compile(r"^ip-[0-9a-f]+$")  # --redact's stable pseudonym for an address

# A detection's own columns that name an identity the actor created, assumed or handed credentials:
# that identity's later activity is the same incident. Value: what the column holds.
DERIVED_FIELDS = {
    "created_user": "user", "created_users": "user", "target_users": "user",
    "created_key": "key", "created_keys": "key", "created_access_key_id": "key",
    "created_arn": "arn", "created_user_arn": "arn", "created_by": "arn", "role_arn": "arn",
    "assumed_role_arn": "arn",
}

# MITRE ATT&CK Enterprise tactics in the matrix's column order (https://attack.mitre.org/tactics/enterprise/).
TACTICS = (
    ("TA0043", "reconnaissance", "Reconnaissance"), ("TA0042", "resource-development", "Resource Development"),
    ("TA0001", "initial-access", "Initial Access"), ("TA0002", "execution", "Execution"),
    ("TA0003", "persistence", "Persistence"), ("TA0004", "privilege-escalation", "Privilege Escalation"),
    ("TA0005", "defense-evasion", "Defense Evasion"), ("TA0006", "credential-access", "Credential Access"),
    ("TA0007", "discovery", "Discovery"), ("TA0008", "lateral-movement", "Lateral Movement"),
    ("TA0009", "collection", "Collection"), ("TA0011", "command-and-control", "Command and Control"),
    ("TA0010", "exfiltration", "Exfiltration"), ("TA0040", "impact", "Impact"),
)
TACTIC_ORDER = {short: n for n, (_, short, _) in enumerate(TACTICS)}
TACTIC_INFO = {short: {"id": tid, "name": name} for tid, short, name in TACTICS}

# Technique → its tactics as ATT&CK publishes them (https://attack.mitre.org/techniques/<id>/), the
# one a cloud detection of it shows FIRST: a technique counts once in a chain, under that tactic
# (Valid Accounts alone must not span four tactics). Covers every id in queries/ and the analyses.
TECHNIQUE_TACTICS: dict[str, tuple[str, ...]] = {
    "T1021.004": ("lateral-movement",),                      # Remote Services: SSH
    "T1021.007": ("lateral-movement",),                      # Remote Services: Cloud Services
    "T1033": ("discovery",),                                  # System Owner/User Discovery
    "T1059.009": ("execution",),                              # Command and Scripting Interpreter: Cloud API
    "T1069.003": ("discovery",),                              # Permission Groups Discovery: Cloud Groups
    "T1078.004": ("initial-access", "persistence", "privilege-escalation", "defense-evasion"),  # Valid: Cloud
    "T1087.004": ("discovery",),                              # Account Discovery: Cloud Account
    "T1098": ("persistence", "privilege-escalation"),         # Account Manipulation
    "T1098.001": ("persistence", "privilege-escalation"),     # Additional Cloud Credentials
    "T1098.003": ("privilege-escalation", "persistence"),     # Additional Cloud Roles
    "T1098.004": ("persistence", "privilege-escalation"),     # SSH Authorized Keys
    "T1098.005": ("persistence", "privilege-escalation"),     # Device Registration
    "T1110": ("credential-access",),                          # Brute Force
    "T1110.001": ("credential-access",),                      # Password Guessing
    "T1110.003": ("credential-access",),                      # Password Spraying
    "T1136.003": ("persistence",),                            # Create Account: Cloud Account
    "T1496": ("impact",),                                     # Resource Hijacking
    "T1525": ("persistence",),                                # Implant Internal Image
    "T1526": ("discovery",),                                  # Cloud Service Discovery
    "T1530": ("collection",),                                 # Data from Cloud Storage
    "T1535": ("defense-evasion",),                            # Unused/Unsupported Cloud Regions
    "T1537": ("exfiltration",),                               # Transfer Data to Cloud Account
    "T1546": ("persistence", "privilege-escalation"),         # Event Triggered Execution
    "T1548": ("privilege-escalation", "defense-evasion"),     # Abuse Elevation Control Mechanism
    "T1550.001": ("defense-evasion", "lateral-movement"),     # Alternate Auth Material: App Access Token
    "T1552": ("credential-access",),                          # Unsecured Credentials
    "T1552.001": ("credential-access",),                      # Credentials In Files
    "T1552.005": ("credential-access",),                      # Cloud Instance Metadata API
    "T1555": ("credential-access",),                          # Credentials from Password Stores
    "T1555.006": ("credential-access",),                      # Cloud Secrets Management Stores
    "T1556": ("credential-access", "defense-evasion", "persistence"),      # Modify Authentication Process
    "T1556.006": ("credential-access", "defense-evasion", "persistence"),  # Multi-Factor Authentication
    "T1562": ("defense-evasion",),                            # Impair Defenses
    "T1562.001": ("defense-evasion",),                        # Disable or Modify Tools
    "T1562.007": ("defense-evasion",),                        # Disable or Modify Cloud Firewall
    "T1562.008": ("defense-evasion",),                        # Disable or Modify Cloud Logs
    "T1578": ("defense-evasion",),                            # Modify Cloud Compute Infrastructure
    "T1578.002": ("defense-evasion",),                        # Create Cloud Instance
    "T1580": ("discovery",),                                  # Cloud Infrastructure Discovery
    "T1588.002": ("resource-development",),                   # Obtain Capabilities: Tool
    "T1621": ("credential-access",),                          # MFA Request Generation
    "T1651": ("execution",),                                  # Cloud Administration Command
    "T1666": ("defense-evasion",),                            # Modify Cloud Resource Hierarchy
}

# Detail columns worth quoting in a narrative step, in this order.
_NARRATIVE_DETAILS = ("created_user", "target_users", "created_keys", "target", "resource", "trails", "detectors",
                      "new_regions", "instance_types", "user_names", "user_name")
_RANK = {name: n for n, name in enumerate(SEVERITIES)}


@dataclass
class Incident:
    id: str
    severity: str
    highest_finding_severity: str
    raised: bool  # severity raised one level for a chain of RAISE_AT_TACTICS or more tactics
    first_seen: str | None
    last_seen: str | None
    tactics: list[dict[str, Any]]  # [{tactic, id, name, first_seen, techniques}], ATT&CK matrix order
    principals: list[str]
    access_key_ids: list[str]
    source_ips: list[str]
    accounts: list[str]
    identities: list[str]  # created or handed credentials during the incident (from detections' own columns)
    detections: list[str]
    finding_count: int
    event_count: int
    narrative: str
    finding_keys: list[str] = field(default_factory=list)  # time order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def chain(self) -> list[str]:
        return [step["tactic"] for step in self.tactics]


@dataclass
class Correlation:
    incidents: list[Incident]  # most severe first, then earliest
    standalone: list[str]  # finding keys in no incident (a single finding below MIN_SINGLETON, or posture)
    keys: list[str]  # every finding's key, in the input's order

    def incident_of(self) -> dict[str, str]:
        return {key: inc.id for inc in self.incidents for key in inc.finding_keys}


# --- keys and entities ---------------------------------------------------------------------


def finding_key(record: Mapping[str, Any]) -> str:
    """A finding's stable id: the same from the findings table and from findings.jsonl."""
    parts = [_text(record.get(c)) or "" for c in ("detection", "first_seen", "last_seen", "account_id",
                                                     "principal_arn", "access_key_id", "source_ip")]
    parts.append(";".join(sorted(F._as_list(record.get("event_ids")))))
    return "F-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _text(value: Any) -> str | None:
    return F._as_text(value) if not isinstance(value, (list, tuple)) else None


def principal_entity(value: Any, account: str | None) -> str | None:
    """One name per principal: an IAM user's sign-in name and its ARN are the same principal."""
    text = _text(value)
    if not text or text in _NOT_A_PRINCIPAL:
        return None
    if not text.startswith("arn:"):
        return f"principal:{account or ''}:user/{text}"
    parts = text.split(":", 5)
    if len(parts) < 6:
        return f"principal:{text}"
    acct, resource = parts[4], parts[5]
    if resource.startswith("user/"):
        return f"principal:{acct}:user/{resource.rsplit('/', 1)[-1]}"
    if resource.startswith("role/"):
        return f"principal:{acct}:role/{resource.rsplit('/', 1)[-1]}"
    return f"principal:{acct}:{resource}"


def address_entity(value: Any) -> str | None:
    """An exact address (or its --redact pseudonym); service names such as `ec2.amazonaws.com` never link."""
    text = _text(value)
    if not text:
        return None
    try:
        return f"ip:{ipaddress.ip_address(text)}"
    except ValueError:
        return f"ip:{text}" if _PSEUDONYM_IP.match(text) else None


def derived_identities(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(entity, shown name) of identities a finding says were created, assumed or handed credentials."""
    account = _text(record.get("account_id"))
    details = record.get("details")
    details = details if isinstance(details, Mapping) else {}
    out = []
    for column, kind in DERIVED_FIELDS.items():
        value = record.get(column, details.get(column))
        for item in F._as_list(value) if not isinstance(value, str) else [value]:
            if kind == "key":
                out.append((f"key:{item}", item))
            else:
                entity = principal_entity(item, account)
                if entity:
                    out.append((entity, item))
    return out


def entities(record: Mapping[str, Any]) -> set[str]:
    """Everything a finding can be linked through."""
    account = _text(record.get("account_id"))
    found = {principal_entity(record.get("principal_arn"), account), address_entity(record.get("source_ip"))}
    key = _text(record.get("access_key_id"))
    found.add(f"key:{key}" if key else None)
    found.update(entity for entity, _ in derived_identities(record))
    return {e for e in found if e}


# --- correlation ---------------------------------------------------------------------------


def _time(value: Any) -> pd.Timestamp | None:
    text = _text(value)
    if not text:
        return None
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None  # a time we cannot read is no link, never a crash
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


class _Sets:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _is_activity(record: Mapping[str, Any]) -> bool:
    """A finding about events. Posture findings from an IAM snapshot (event_count 0, stamped with the
    snapshot's time) say how an account is set up, not what someone did: they are never incidents."""
    count = pd.to_numeric(pd.Series([record.get("event_count")], dtype=object), errors="coerce").iloc[0]
    return bool(pd.isna(count) or count > 0)  # an unreadable count is not evidence of no activity


def link(records: Sequence[Mapping[str, Any]], max_gap: dt.timedelta = MAX_GAP) -> list[list[int]]:
    """Groups of record indexes: findings sharing an entity within `max_gap` of each other are one group."""
    spans: dict[int, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for i, record in enumerate(records):
        first, last = _time(record.get("first_seen")), _time(record.get("last_seen"))
        if first is not None and _is_activity(record):  # posture findings have no activity to chain on
            spans[i] = (first, last if last is not None and last >= first else first)
    by_entity: dict[str, list[int]] = {}
    for i in spans:
        for entity in entities(records[i]):
            by_entity.setdefault(entity, []).append(i)
    sets = _Sets(len(records))
    for members in by_entity.values():
        members.sort(key=lambda i: spans[i][0])
        reach = spans[members[0]][1]  # the latest end seen so far on this entity
        for prev, cur in zip(members, members[1:], strict=False):
            start, end = spans[cur]
            if start - reach <= max_gap:
                sets.union(prev, cur)
                reach = max(reach, end)
            else:
                reach = end
    groups: dict[int, list[int]] = {}
    for i in range(len(records)):
        groups.setdefault(sets.find(i), []).append(i)
    return list(groups.values())


def tactics_of(mitre: Iterable[str]) -> list[str]:
    """The tactic each technique counts under (a sub-technique not in the table falls back to its parent)."""
    out = []
    for technique in mitre:
        tactics = TECHNIQUE_TACTICS.get(technique) or TECHNIQUE_TACTICS.get(technique.split(".")[0])
        if tactics and tactics[0] not in out:
            out.append(tactics[0])
    return out


def tactic_chain(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=_order):
        for technique in F._as_list(record.get("mitre")):
            for tactic in tactics_of([technique]):
                step = seen.setdefault(tactic, {"tactic": tactic, **TACTIC_INFO[tactic],
                                                "first_seen": _text(record.get("first_seen")), "techniques": []})
                if technique not in step["techniques"]:
                    step["techniques"].append(technique)
    return sorted(seen.values(), key=lambda step: TACTIC_ORDER[step["tactic"]])


def _order(record: Mapping[str, Any]) -> tuple[str, str, str]:
    return (_text(record.get("first_seen")) or "9999", _text(record.get("last_seen")) or "9999",
            str(record.get("detection") or ""))


def _severity(records: Sequence[Mapping[str, Any]], chain: Sequence[Any]) -> tuple[str, str, bool]:
    ranks = [_RANK.get(str(r.get("severity")), 0) for r in records]
    top = max(ranks) if ranks else 0
    raised = len(chain) >= RAISE_AT_TACTICS and top < len(SEVERITIES) - 1
    return SEVERITIES[top + 1 if raised else top], SEVERITIES[top], raised


def correlate(findings: pd.DataFrame | Sequence[Mapping[str, Any]], *,
              titles: Mapping[str, str] | None = None, max_gap: dt.timedelta = MAX_GAP) -> Correlation:
    """Incidents from findings (a findings table, or records as findings.jsonl holds them)."""
    records = _records(findings)
    keys = [finding_key(r) for r in records]
    # The same finding shown by two reports is one finding.
    unique: dict[str, int] = {}
    for i, key in enumerate(keys):
        unique.setdefault(key, i)
    kept = [records[i] for i in unique.values()]
    incidents, standalone = [], []
    for group in link(kept, max_gap):
        members = [kept[i] for i in group]
        single = len(members) == 1
        if single and (_time(members[0].get("first_seen")) is None or not _is_activity(members[0])
                       or _RANK.get(str(members[0].get("severity")), 0) < _RANK[MIN_SINGLETON]):
            standalone.append(finding_key(members[0]))
            continue
        incidents.append(_incident(members, titles or {}))
    incidents.sort(key=lambda inc: (-_RANK[inc.severity], inc.first_seen or "9999", inc.id))
    return Correlation(incidents, sorted(standalone), keys)


def _records(findings: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(findings, pd.DataFrame):
        return F.to_records(findings) if len(findings) else []
    out = []
    for item in findings:
        details = item.get("details")
        own = details if isinstance(details, Mapping) else {}
        out.append({**own, **{k: v for k, v in item.items() if k != "details"}})
    return out


def _principals(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each principal once: its ARN when a finding gives one, else its sign-in name."""
    shown: dict[str, str] = {}
    for record in records:
        text = _text(record.get("principal_arn"))
        entity = principal_entity(text, _text(record.get("account_id")))
        if entity and text and (entity not in shown or text.startswith("arn:")):
            shown[entity] = text
    return sorted(shown.values())


def _incident(members: list[dict[str, Any]], titles: Mapping[str, str]) -> Incident:
    members = sorted(members, key=_order)
    keys = [finding_key(r) for r in members]
    chain = tactic_chain(members)
    severity, highest, raised = _severity(members, chain)
    firsts = [t for t in (_text(r.get("first_seen")) for r in members) if t]
    lasts = [t for t in (_text(r.get("last_seen")) or _text(r.get("first_seen")) for r in members) if t]

    def distinct(column: str) -> list[str]:
        return sorted({t for t in (_text(r.get(column)) for r in members) if t})

    return Incident(
        id="INC-" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:12],
        severity=severity, highest_finding_severity=highest, raised=raised,
        first_seen=min(firsts) if firsts else None, last_seen=max(lasts) if lasts else None, tactics=chain,
        principals=_principals(members),
        access_key_ids=distinct("access_key_id"), source_ips=distinct("source_ip"), accounts=distinct("account_id"),
        identities=sorted({name for r in members for _, name in derived_identities(r)}),
        detections=sorted({str(r.get("detection")) for r in members}), finding_count=len(members),
        event_count=int(pd.to_numeric(pd.Series([r.get("event_count") for r in members], dtype=object),
                                      errors="coerce").fillna(0).sum()),
        narrative=narrative(members, titles), finding_keys=keys)


# --- narrative -----------------------------------------------------------------------------


def _detail(records: Sequence[Mapping[str, Any]]) -> str:
    """The first quotable detail column any of one check's findings fill, its values across them all."""
    for column in _NARRATIVE_DETAILS:
        items: list[str] = []
        for record in records:
            value = record.get(column)
            for item in [value] if isinstance(value, str) else F._as_list(value):
                if item and item not in _NOT_A_PRINCIPAL and item not in items:
                    items.append(item)
        if items:
            shown = ", ".join(items[:4]) + (f" and {len(items) - 4} more" if len(items) > 4 else "")
            return f" ({shown})"
    return ""


def title_of(record: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    name = str(record.get("detection") or "finding")
    return str(record.get("title") or titles.get(name) or name.replace("_", " ").capitalize())


def _who(records: Sequence[Mapping[str, Any]]) -> str:
    key = next((k for k in (_text(r.get("access_key_id")) for r in records) if k), None)
    owners = {principal_entity(r.get("principal_arn"), _text(r.get("account_id"))): _text(r.get("principal_arn"))
              for r in records if principal_entity(r.get("principal_arn"), _text(r.get("account_id")))}
    named = sorted((str(v) for v in owners.values()), key=lambda v: (not v.startswith("arn:"), v))
    if key:
        owner = next((_text(r.get("principal_arn")) for r in records if _text(r.get("access_key_id")) == key), None)
        return f"Key {key}" + (f" ({owner})" if owner else "")
    if len(owners) == 1:
        return named[0]
    return f"{len(owners)} principals" if owners else "An unknown actor"


def narrative(records: Sequence[Mapping[str, Any]], titles: Mapping[str, str] | None = None) -> str:
    """Who, from where, when, then each check that fired in time order (a check once, at its first finding)."""
    records = sorted(records, key=_order)
    ips = sorted({t for t in (_text(r.get("source_ip")) for r in records) if t})
    where = f" from {', '.join(ips[:3])}" + (f" and {len(ips) - 3} more addresses" if len(ips) > 3 else "")
    last = max(_text(r.get("last_seen")) or _text(r.get("first_seen")) or "" for r in records)
    when = f", {_text(records[0].get('first_seen'))} to {last}"
    by_check: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_check.setdefault(str(record.get("detection")), []).append(record)
    steps = [title_of(group[0], titles or {}) + _detail(group) for group in by_check.values()]
    return f"{_who(records)}{where if ips else ''}{when}: " + "; ".join(steps) + "."


# --- files ---------------------------------------------------------------------------------


def write_jsonl(correlation: Correlation, target: str | Path) -> int:
    text = "".join(json.dumps(inc.to_dict(), default=str) + "\n" for inc in correlation.incidents)
    Path(target).write_text(text, encoding="utf-8")
    return len(correlation.incidents)


def read_jsonl(source: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(source).read_text(encoding="utf-8").splitlines() if line.strip()]


# --- what incidents implicate (one story across reports) -------------------------------------


@dataclass(frozen=True)
class Implication:
    """How an incident implicates a key or identity: `created` (made, or handed credentials, during it)
    or `used` (it acted in it: the key is compromised; the principal is implicated)."""

    incident: str
    role: str
    first_seen: str | None

    def describe(self, what: str = "principal") -> str:
        """The words every report uses for it (`what`: principal or key)."""
        if self.role == "created":
            return f"created during incident {self.incident}: remove it"
        if what == "key":
            return f"compromised in incident {self.incident}: deactivate it now"
        return f"implicated in incident {self.incident}"


def implicated(findings: pd.DataFrame | Sequence[Mapping[str, Any]],
               correlation: Correlation | None = None) -> dict[str, Implication]:
    """Entity (as `entities` spells it) → how an incident implicates it, for every finding in an incident.

    An identity a detection says the actor created or handed credentials is `created`; the key and the
    principal (an ARN, so never a failed sign-in's typed name) a finding is about are `used`. `created`
    wins over `used` (a backdoor user acts too), and the most severe incident wins over later ones.
    """
    records = _records(findings)
    correlation = correlation if correlation is not None else correlate(records)
    by_key = {finding_key(r): r for r in records}
    out: dict[str, Implication] = {}
    for inc in correlation.incidents:  # most severe first
        for fkey in inc.finding_keys:
            record = by_key.get(fkey)
            if record is None:
                continue
            made = Implication(inc.id, "created", inc.first_seen)
            acted = Implication(inc.id, "used", inc.first_seen)
            for entity, _ in derived_identities(record):
                if out.get(entity, acted).role != "created":
                    out[entity] = made
            arn = _text(record.get("principal_arn"))
            principal = principal_entity(arn, _text(record.get("account_id"))) if arn and arn[:4] == "arn:" else None
            key = _text(record.get("access_key_id"))
            for acting in (principal, _session_role(principal), f"key:{key}" if key else None):
                if acting and acting not in out:
                    out[acting] = acted
    return out


def _session_role(entity: str | None) -> str | None:
    """`principal:A:assumed-role/R/session` → `principal:A:role/R`: a role session implicates its role."""
    if not entity or ":assumed-role/" not in entity:
        return None
    head, _, rest = entity.partition(":assumed-role/")
    return f"{head}:role/{rest.split('/', 1)[0]}"


def finding_records(findings: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Findings as flat records (a table's rows, or findings.jsonl's with `details` spread out)."""
    return _records(findings)
