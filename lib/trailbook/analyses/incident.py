"""Incident scoping, "what did this key do?", the window's story, and the incident response runbook.

`scope(session, access_key_id=..., principal_arn=...)` gathers, from catalog context queries:
the full timeline of the key's (or principal's) calls; its source IPs and user agents with first
and last seen; regions, services and errors; every key, user, role and session it created or
assumed, followed one hop with what those did; and what changed (IAM, S3, EC2 writes).
With neither argument the scope is empty and displays nothing (hunt mode).

`story(session, incidents_from)` is the window's incidents, computed once (from a report's
findings, or from every detection on the session), and what each implicates: the notebooks mark a
key or identity an incident implicates wherever it appears, so they tell one story.

`runbook(...)` / `response_runbook(findings)` is the whole response generated from the findings
(contain, remove persistence, restore guardrails, recover, review) as AWS CLI commands to copy,
every value shell-quoted. trailbook never runs them: it never calls a mutating AWS API.
"""

from __future__ import annotations

import html
import json
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .. import findings as F
from .. import incidents as I
from ..session import FromEvents

if TYPE_CHECKING:
    from ..session import Session

# Services whose successful writes make the "what changed" table.
CHANGE_SERVICES = ("iam.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "sts.amazonaws.com",
                   "lambda.amazonaws.com", "cloudtrail.amazonaws.com", "guardduty.amazonaws.com")
# A key with a finding at least this severe is judged compromised.
COMPROMISED_AT = "medium"
QUIET_DAYS = 7


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _service_names(eventsources: pd.Series) -> pd.Series:
    """Event sources without ``.amazonaws.com`` (iam, s3, ...)."""
    return eventsources.str.replace(".amazonaws.com", "", regex=False)


@dataclass
class IncidentScope:
    """Everything known about one key or principal in the session window."""

    access_key_id: str = ""
    principal_arn: str = ""
    window: tuple[str, str] = ("", "")
    timeline: pd.DataFrame = field(default_factory=pd.DataFrame)
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)
    spawned: pd.DataFrame = field(default_factory=pd.DataFrame)
    spawned_activity: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def active(self) -> bool:
        return bool(self.access_key_id or self.principal_arn)

    @property
    def subject(self) -> str:
        return self.access_key_id or self.principal_arn

    def summary(self) -> dict:
        """First and last seen, calls, failures, regions and services of the followed calls."""
        t = self.timeline
        if t.empty:
            return {"subject": self.subject, "calls": 0}
        return {
            "subject": self.subject,
            "first_seen": t["eventtime"].min(),
            "last_seen": t["eventtime"].max(),
            "calls": int(len(t)),
            "failed_calls": int(t["errorcode"].notna().sum()),
            "source_ips": sorted(t["sourceipaddress"].dropna().unique().tolist()),
            "regions": sorted(t["awsregion"].dropna().unique().tolist()),
            "services": sorted(_service_names(t["eventsource"].dropna()).unique().tolist()),
            "users": sorted(t["user_name"].dropna().unique().tolist()),
        }

    def by(self, column: str) -> pd.DataFrame:
        """Calls per value of one timeline column (awsregion, eventsource, errorcode, ...), with first/last seen."""
        t = self.timeline
        if t.empty or column not in t:
            return _empty([column, "calls", "first_seen", "last_seen"])
        rows = t[t[column].notna()]
        out = rows.groupby(column, as_index=False).agg(calls=("eventid", "size"), first_seen=("eventtime", "min"),
                                                      last_seen=("eventtime", "max"))
        return out.sort_values(["calls", column], ascending=[False, True]).reset_index(drop=True)

    def errors(self) -> pd.DataFrame:
        """Failed calls by error code and event name."""
        t = self.timeline
        if t.empty:
            return _empty(["errorcode", "eventname", "calls", "first_seen", "last_seen"])
        failed = t[t["errorcode"].notna()]
        out = failed.groupby(["errorcode", "eventname"], as_index=False).agg(
            calls=("eventid", "size"), first_seen=("eventtime", "min"), last_seen=("eventtime", "max"))
        return out.sort_values(["calls", "errorcode"], ascending=[False, True]).reset_index(drop=True)

    def changes(self) -> pd.DataFrame:
        """Successful writes to IAM, S3, EC2 (and the other CHANGE_SERVICES), by the key and by what it spawned."""
        frames = [f for f in (self.timeline, self.spawned_activity) if not f.empty]
        if not frames:
            return _empty(["eventtime", "eventsource", "eventname", "access_key_id", "principal_arn",
                           "requestparameters"])
        allcalls = pd.concat(frames, ignore_index=True).drop_duplicates("eventid")
        writes = allcalls[(allcalls["readonly"].fillna("false") != "true") & allcalls["errorcode"].isna()
                          & allcalls["eventsource"].isin(CHANGE_SERVICES)]
        columns = ["eventtime", "eventsource", "eventname", "access_key_id", "principal_arn", "sourceipaddress",
                   "requestparameters"]
        return writes.sort_values(["eventtime", "eventid"])[columns].reset_index(drop=True)

    def spawned_summary(self) -> pd.DataFrame:
        """What each created or assumed identity did afterwards (one hop)."""
        if self.spawned.empty:
            return _empty(["kind", "spawned_key_id", "spawned_arn", "created_at", "calls_after", "services_after"])
        rows = []
        act = self.spawned_activity
        for item in self.spawned.itertuples():
            mine = act.iloc[0:0] if act.empty else act[
                (act["access_key_id"] == item.spawned_key_id) | (act["principal_arn"] == item.spawned_arn)
                | (act["role_arn"] == item.spawned_arn)]
            rows.append({"kind": item.kind, "eventname": item.eventname, "spawned_key_id": item.spawned_key_id,
                         "spawned_arn": item.spawned_arn, "spawned_name": item.spawned_name,
                         "created_at": item.eventtime, "calls_after": int(len(mine)),
                         "services_after": ", ".join(sorted(_service_names(mine["eventsource"]).unique()))})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        if not self.active:
            return ("<p>Hunt mode: no key or principal is scoped. The window's incidents are on the report's index; "
                    "set <code>access_key_id</code> (or <code>principal_arn</code>) to scope one here.</p>")
        summary = self.summary()
        parts = [f"<h4>Incident scope: {html.escape(self.subject)}</h4>",
                 f"<p>Window {html.escape(self.window[0])} to {html.escape(self.window[1])}: "
                 f"{summary['calls']} calls, first {html.escape(str(summary.get('first_seen', '-')))}, "
                 f"last {html.escape(str(summary.get('last_seen', '-')))}.</p>"]
        tables = [("Source IPs and user agents", self.sources), ("Regions", self.by("awsregion")),
                  ("Services", self.by("eventsource")), ("Errors", self.errors()),
                  ("Created or assumed (followed one hop)", self.spawned_summary()), ("What changed", self.changes())]
        for title, frame in tables:
            parts.append(f"<h5>{html.escape(title)} ({len(frame)})</h5>")
            parts.append(frame.to_html(index=False, escape=True, border=0, na_rep="") if len(frame) else "<p>None.</p>")
        return "\n".join(parts)


def scope(session: Session, *, access_key_id: str = "", principal_arn: str = "") -> IncidentScope:
    """Scope one key (or principal) over the session window; empty when neither is given."""
    window = (session.start.strftime("%Y-%m-%dT%H:%M:%SZ"), session.end.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if not access_key_id and not principal_arn:
        return IncidentScope(window=window)
    keys = [access_key_id] if access_key_id else []
    principals = [principal_arn] if principal_arn else []
    timeline = session.run("key_activity", access_key_ids=keys, principal_arns=principals)
    sources = session.run("key_sources", access_key_ids=keys, principal_arns=principals)
    spawned = session.run("key_spawned_identities", access_key_ids=keys, principal_arns=principals)
    hop_keys = sorted({k for k in spawned["spawned_key_id"].dropna() if k and k not in keys})
    hop_arns = sorted({a for a in spawned["spawned_arn"].dropna()
                       if a and a not in principals and (":user/" in a or ":role/" in a)})
    if hop_keys or hop_arns:
        # Taken from events, so data not parameters: a value no key or ARN can be is set aside, not an error.
        hop = session.run("key_activity", access_key_ids=FromEvents(hop_keys), principal_arns=FromEvents(hop_arns))
        hop = hop[~hop["eventid"].isin(timeline["eventid"])].reset_index(drop=True)
    else:
        hop = timeline.iloc[0:0].copy()
    return IncidentScope(access_key_id, principal_arn, window, timeline, sources, spawned, hop)


def user_of(incident: IncidentScope) -> str | None:
    """The IAM user that owns the key (from its calls), if it is a user's key."""
    t = incident.timeline
    if t.empty:
        return None
    users = t.loc[t["identity_type"] == "IAMUser", "user_name"].dropna()
    return users.iloc[0] if len(users) else None


def is_compromised(incident: IncidentScope, found: pd.DataFrame | None) -> bool:
    """True when the hunt has a finding about this key or principal at COMPROMISED_AT or worse."""
    if not incident.active or found is None or found.empty:
        return False
    severe = F.at_least(found, COMPROMISED_AT)
    return bool(((severe["access_key_id"] == incident.access_key_id) & bool(incident.access_key_id)).any()
                or ((severe["principal_arn"] == incident.principal_arn) & bool(incident.principal_arn)).any())


# --- one story across notebooks ------------------------------------------------------------


@dataclass
class Story:
    """The incidents of a window and what they implicate, so every notebook tells the same story:
    a key or identity an incident implicates is marked as such wherever it appears."""

    findings: pd.DataFrame
    correlation: I.Correlation
    implicated: dict[str, I.Implication]
    source: str = ""  # where the findings came from: a findings.jsonl, or this session's detections

    def of_principal(self, principal: object, account: object = None) -> I.Implication | None:
        """How an incident implicates a principal (an ARN, or a user name with its account)."""
        entity = I.principal_entity(principal, None if account is None else str(account))
        return self.implicated.get(entity) if entity else None

    def of_key(self, access_key_id: object) -> I.Implication | None:
        return self.implicated.get(f"key:{access_key_id}") if isinstance(access_key_id, str) and access_key_id else None

    def mark(self, *, principal: object = None, key: object = None, account: object = None) -> str | None:
        """The words for a key (checked first) or principal an incident implicates; None when none does."""
        found = self.of_key(key)
        if found is not None:
            return found.describe("key")
        found = self.of_principal(principal, account) if isinstance(principal, str) and principal else None
        return found.describe("principal") if found is not None else None

    def marks(self, frame: pd.DataFrame, *, principal: str | None = None, key: str | None = None,
              account: str | None = None) -> list[str | None]:
        """`mark` for each row of a table, from its principal, key and account columns (a cell may
        hold several keys joined by commas, as CIS 1.13 does)."""
        def cell(row: dict, column: str | None) -> object:
            value = row.get(column) if column else None
            return None if value is None or (isinstance(value, float) and pd.isna(value)) else value

        out: list[str | None] = []
        for row in frame.to_dict("records"):
            keys = [k.strip() for k in str(cell(row, key) or "").split(",") if k.strip()]
            found = next((m for k in keys if (m := self.mark(key=k))), None)
            out.append(found or self.mark(principal=cell(row, principal), account=cell(row, account)))
        return out

    def created(self, principal: object, account: object = None) -> bool:
        """True for an identity an incident created: remove it, never right-size it."""
        found = self.of_principal(principal, account)
        return found is not None and found.role == "created"

    def table(self) -> pd.DataFrame:
        """The incidents, most severe first: what the marks in every other table refer to."""
        columns = ["incident", "severity", "first_seen", "last_seen", "narrative"]
        return pd.DataFrame([[inc.id, inc.severity, inc.first_seen, inc.last_seen, inc.narrative]
                             for inc in self.correlation.incidents], columns=columns)


def story(session: Session, incidents_from: str = "") -> Story:
    """The window's incidents: from a report's findings.jsonl when given, else from every detection
    run on this session (what `trailbook findings` runs), correlated once here."""
    from ..coverage import detect

    if incidents_from:
        found = F.read_jsonl(incidents_from)
        source = str(incidents_from)
    else:
        found, _ = detect(session)
        source = f"every detection over {session.start:%Y-%m-%dT%H:%MZ} to {session.end:%Y-%m-%dT%H:%MZ}"
    correlation = I.correlate(found)
    return Story(found, correlation, I.implicated(found, correlation), source)


# --- the response runbook ------------------------------------------------------------------

QUARANTINE_POLICY = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"  # the name the IAM console gives its "Revoke active sessions" policy
BLOCK_ALL_PUBLIC = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
PHASES = ("Contain the keys and sessions", "Remove persistence", "Restore guardrails",
          "Recover: a new key for the legitimate owner", "Review")
# How to read each resource policy an exposure finding names, to restore it without the outside grant.
_POLICY_READERS = {
    "s3_bucket": "aws s3api get-bucket-policy --bucket {}",
    "kms_key": "aws kms get-key-policy --policy-name default --key-id {}",
    "sqs_queue": "aws sqs get-queue-attributes --attribute-names Policy --queue-url {}",
    "sns_topic": "aws sns get-topic-attributes --topic-arn {}",
    "ecr_repository": "aws ecr get-repository-policy --repository-name {}",
    "secretsmanager_secret": "aws secretsmanager get-resource-policy --secret-id {}",
    "lambda_function": "aws lambda get-policy --function-name {}",
    "iam_role": "aws iam get-role --role-name {}",
}


def _items(record: dict, column: str) -> list[str]:
    value = record.get(column)
    return [value] if isinstance(value, str) and value else [v for v in F._as_list(value) if v]


def _label(value: object) -> str:
    """A name from a log, safe inside a `#` comment: control characters (a newline would end the
    comment and start a command) are shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def _user_name(arn: object) -> str | None:
    text = F._as_text(arn)
    return text.rsplit("/", 1)[1] if text and ":user/" in text else None


def _role_name(arn: object) -> str | None:
    text = F._as_text(arn) or ""
    for marker in (":assumed-role/", ":role/"):
        if marker in text:
            return text.split(marker, 1)[1].split("/")[0 if marker == ":assumed-role/" else -1] or None
    return None


def _region(record: dict) -> str:
    region = F._as_text(record.get("region"))
    return f" --region {shlex.quote(region)}" if region else ""


@dataclass
class _Book:
    """Runbook lines per phase; each command once, in the order first added."""

    phases: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PHASES})

    def add(self, phase: str, line: str) -> None:
        if line not in self.phases[phase]:
            self.phases[phase].append(line)


def _contain(book: _Book, records: list[dict], keys: dict[str, str | None], created: set[str], now: str) -> None:
    q = shlex.quote
    users = sorted({u for r in records if (u := _user_name(r.get("principal_arn"))) and u not in created})
    for key, owner in keys.items():
        user = f"--user-name {q(owner)} " if owner else "--user-name <USER-NAME> "
        book.add(PHASES[0], f"aws iam update-access-key {user}--access-key-id {q(key)} --status Inactive")
    for user in users:
        book.add(PHASES[0], f"aws iam attach-user-policy --user-name {q(user)} --policy-arn {QUARANTINE_POLICY}")
    revoke = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}}]}, separators=(",", ":"))
    roles = sorted({n for r in records for arn in [r.get("principal_arn"), *_items(r, "role_arn"),
                                                   *_items(r, "assumed_role_arn")] if (n := _role_name(arn))})
    for role in roles:
        book.add(PHASES[0], f"aws iam put-role-policy --role-name {q(role)} --policy-name {REVOKE_POLICY_NAME} "
                            f"--policy-document {q(revoke)}")
    session_users = sorted({u for r in records if (u := _user_name(r.get("principal_arn"))) and u not in created
                            and str(r.get("access_key_id") or "").startswith("ASIA")})
    for user in session_users:
        book.add(PHASES[0], f"aws iam put-user-policy --user-name {q(user)} --policy-name {REVOKE_POLICY_NAME} "
                            f"--policy-document {q(revoke)}")
    if any(str(r.get("principal_arn") or "").endswith(":root") for r in records):
        book.add(PHASES[0], "# root acted: no policy can restrict it. Sign in as root, change its password, "
                            "enable MFA, and delete any root access keys:")
        book.add(PHASES[0], "aws iam get-account-summary "
                            "--query 'SummaryMap.[AccountMFAEnabled,AccountAccessKeysPresent]'")


def _remove_user(book: _Book, user: str, keys: list[str], policies: list[str]) -> None:
    q, u = shlex.quote, shlex.quote(user)
    book.add(PHASES[1], f"# user {_label(user)}: created during the incident. Remove what it holds, then the user.")
    for key in keys:
        book.add(PHASES[1], f"aws iam delete-access-key --user-name {u} --access-key-id {q(key)}")
    book.add(PHASES[1], f"aws iam delete-login-profile --user-name {u}")
    for policy in policies:
        book.add(PHASES[1], f"aws iam detach-user-policy --user-name {u} --policy-arn {q(policy)}"
                 if policy.startswith("arn:") else
                 f"aws iam delete-user-policy --user-name {u} --policy-name {q(policy)}")
    for listing in ("list-access-keys", "list-attached-user-policies", "list-user-policies", "list-groups-for-user",
                    "list-mfa-devices", "list-ssh-public-keys", "list-signing-certificates",
                    "list-service-specific-credentials"):
        book.add(PHASES[1], f"aws iam {listing} --user-name {u}   # anything listed must go before delete-user")
    book.add(PHASES[1], f"aws iam delete-user --user-name {u}")


def _persistence(book: _Book, records: list[dict], created: set[str]) -> None:
    q = shlex.quote
    granted: dict[tuple[str, str], list[str]] = {}  # (kind, name) -> policies granted during the incident
    for r in records:
        if r.get("detection") == "iam_admin_policy_granted" and (target := F._as_text(r.get("target"))):
            names = " ".join(_items(r, "event_names"))
            kind = ("role" if "Role" in names else "group" if "Group" in names
                    else "policy" if "PolicyVersion" in names else "user")
            granted.setdefault((kind, target), []).extend(_items(r, "policies"))
    created_keys: dict[str, list[str]] = {}
    for r in records:
        users, keys = _items(r, "target_users"), _items(r, "created_keys") + _items(r, "created_access_key_id")
        if keys and len(users) == 1:
            created_keys.setdefault(users[0], []).extend(keys)
    for user in sorted(created):
        _remove_user(book, user, sorted(set(created_keys.get(user, []))), granted.pop(("user", user), []))
    for user, keys in sorted(created_keys.items()):
        if user not in created:
            for key in sorted(set(keys)):
                book.add(PHASES[1], f"aws iam delete-access-key --user-name {q(user)} --access-key-id {q(key)}"
                                    "   # a key the attacker made for an existing user")
    for (kind, name), policies in sorted(granted.items()):
        if kind == "policy":
            book.add(PHASES[1], f"aws iam list-policy-versions --policy-arn {q(name)}   # then "
                                "set-default-policy-version back to the version before the incident")
            continue
        for policy in sorted(set(policies)):
            verb = "detach" if policy.startswith("arn:") else "delete"
            what = f"--policy-arn {q(policy)}" if policy.startswith("arn:") else f"--policy-name {q(policy)}"
            book.add(PHASES[1], f"aws iam {verb}-{kind}-policy --{kind}-name {q(name)} {what}"
                                "   # granted during the incident")
    for r in records:
        detection = r.get("detection")
        if detection == "login_profile_changed_by_other" and (target := F._as_text(r.get("target_user"))) \
                and target not in created:
            book.add(PHASES[1], f"aws iam delete-login-profile --user-name {q(target)}"
                                "   # a password the attacker set; the owner sets a new one")
        elif detection == "iam_role_trust_backdoor":
            role = F._as_text(_json(r.get("request_parameters")).get("roleName"))
            if role:
                book.add(PHASES[1], f"aws iam get-role --role-name {q(role)} --query Role.AssumeRolePolicyDocument")
                book.add(PHASES[1], f"aws iam update-assume-role-policy --role-name {q(role)} "
                                    "--policy-document file://trust-policy-before-the-incident.json")
        elif detection in ("resource_policy_external_access", "lambda_resource_policy_backdoor"):
            rtype = F._as_text(r.get("resource_type")) or ("lambda_function" if _items(r, "functions") else "")
            for resource in _items(r, "resource") or _items(r, "functions"):
                reader = _POLICY_READERS.get(rtype)
                book.add(PHASES[1], f"# {_label(rtype)} {_label(resource)} was opened to outsiders: put back its "
                                    "policy without that grant")
                if rtype == "s3_bucket":
                    book.add(PHASES[1], f"aws s3api put-public-access-block --bucket {q(resource)} "
                                        f"--public-access-block-configuration {BLOCK_ALL_PUBLIC}")
                if reader:
                    book.add(PHASES[1], reader.format(q(resource)) + _region(r))
                if rtype == "s3_bucket":
                    book.add(PHASES[1], f"aws s3api delete-bucket-policy --bucket {q(resource)}"
                                        "   # or put-bucket-policy with the policy from before the incident")


def _json(value: object) -> dict:
    if isinstance(value, dict):
        return value
    try:
        loaded = json.loads(str(value))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _guardrails(book: _Book, records: list[dict]) -> None:
    q = shlex.quote
    for r in records:
        detection, names, region = r.get("detection"), set(_items(r, "event_names")), _region(r)
        if detection == "cloudtrail_logging_disabled":
            for trail in _items(r, "trails"):
                book.add(PHASES[2], f"aws cloudtrail start-logging --name {q(trail)}{region}" if "StopLogging" in names
                         else f"aws cloudtrail get-trail-status --name {q(trail)}{region}   # deleted: recreate it")
        elif detection == "cloudtrail_config_weakened":
            book.add(PHASES[2], f"aws cloudtrail describe-trails{region}   # then put back the selectors and settings "
                                "changed: " + _label(", ".join(_items(r, "changes"))))
        elif detection == "guardduty_disabled":
            detectors = _items(r, "detectors")
            if "DeleteDetector" in names:
                book.add(PHASES[2], f"aws guardduty create-detector --enable{region}")
            for detector in detectors:
                if "DeleteDetector" not in names:
                    book.add(PHASES[2], f"aws guardduty update-detector --detector-id {q(detector)} --enable{region}")
                if names & {"CreateFilter", "UpdateFilter"}:
                    book.add(PHASES[2], f"aws guardduty list-filters --detector-id {q(detector)}{region}")
                if names & {"CreateIPSet", "UpdateIPSet"}:
                    book.add(PHASES[2], f"aws guardduty list-ip-sets --detector-id {q(detector)}{region}")
        elif detection == "config_recorder_stopped":
            book.add(PHASES[2], f"aws configservice describe-configuration-recorder-status{region}")
            book.add(PHASES[2], "aws configservice start-configuration-recorder --configuration-recorder-name "
                                f"<RECORDER-NAME>{region}")
        elif detection == "vpc_flow_logs_deleted":
            book.add(PHASES[2], f"aws ec2 describe-flow-logs{region}")
            book.add(PHASES[2], "aws ec2 create-flow-logs --resource-type VPC --resource-ids <VPC-ID> "
                                f"--traffic-type ALL --log-destination-type s3 --log-destination <BUCKET-ARN>{region}")
        elif detection == "s3_block_public_access_removed":
            for scope in _items(r, "scopes"):
                account = scope.split(" ", 1)[1] if scope.startswith("account ") else None
                book.add(PHASES[2], f"aws s3control put-public-access-block --account-id {q(account)} "
                                    f"--public-access-block-configuration {BLOCK_ALL_PUBLIC}" if account else
                         f"aws s3api put-public-access-block --bucket {q(scope)} "
                         f"--public-access-block-configuration {BLOCK_ALL_PUBLIC}")


def _review(book: _Book, records: list[dict], keys: dict[str, str | None]) -> None:
    q = shlex.quote
    for key in keys:
        book.add(PHASES[4], "aws cloudtrail lookup-events --lookup-attributes "
                            f"AttributeKey=AccessKeyId,AttributeValue={q(key)} --max-results 50")
        book.add(PHASES[4], f"aws iam get-access-key-last-used --access-key-id {q(key)}")
    for r in records:
        detection, region = r.get("detection"), _region(r)
        if detection == "ec2_unusual_instance_launch" and (types := _items(r, "instance_types")):
            book.add(PHASES[4], "aws ec2 describe-instances --filters "
                                f"{q('Name=instance-type,Values=' + ','.join(types))}{region}   # terminate what the "
                                "attacker launched")
        elif detection == "ec2_user_data_modified":
            for instance in _items(r, "instances"):
                book.add(PHASES[4], f"aws ec2 describe-instance-attribute --instance-id {q(instance)} "
                                    f"--attribute userData{region}")


def response_runbook(found: pd.DataFrame | list[dict], *, keys: dict[str, str | None] | None = None,
                     created_keys: dict[str, str | None] | None = None, now: object = None,
                     title: str = "") -> str:
    """The whole response, as AWS CLI commands generated from the findings: contain the keys and
    sessions, remove persistence, restore guardrails, recover, review. Every value is shell-quoted
    (names come from logs an attacker wrote); trailbook prints the commands and never runs them.

    `keys`: the compromised keys and their owners (default: every long-term key the findings name);
    `created_keys`: keys the compromised ones created (deactivated in step 1, then removed).
    `now`: the time before which role and user sessions are revoked (default: now).
    """
    records = I.finding_records(found) if isinstance(found, pd.DataFrame) else [dict(r) for r in found]
    when = pd.Timestamp(now if now is not None else pd.Timestamp.now(tz="UTC"))
    stamp = (when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    if keys is None:
        keys = {k: _user_name(r.get("principal_arn")) for r in records
                if (k := F._as_text(r.get("access_key_id"))) and k.startswith("AKIA")}
    created = {u for r in records for c in ("created_user", "created_users") for u in _items(r, c)}
    created |= {u for r in records for a in _items(r, "created_user_arn") if (u := _user_name(a))}
    made = {k: (users[0] if len(users := _items(r, "target_users")) == 1 else None)
            for r in records for k in _items(r, "created_keys") + _items(r, "created_access_key_id")}
    book = _Book()
    _contain(book, records, {**keys, **made, **(created_keys or {})}, created, stamp)
    _persistence(book, records, created)
    _guardrails(book, records)
    owned = {k: u for k, u in keys.items() if u not in created}
    q = shlex.quote
    for key, owner in owned.items():
        user = f"--user-name {q(owner)} " if owner else "--user-name <USER-NAME> "
        book.add(PHASES[3], f"aws iam create-access-key {user.strip()}")
        book.add(PHASES[3], f"# after {QUIET_DAYS} quiet days (no use, nothing broken), delete the old key:")
        book.add(PHASES[3], f"aws iam delete-access-key {user}--access-key-id {q(key)}")
        book.add(PHASES[3], "# scrub it from git history (then rotate anything else in the same commit):")
        book.add(PHASES[3], f"git log --all -S {q(key)} --oneline")
        book.add(PHASES[3], f"git filter-repo --replace-text <(printf '%s\\n' {q(key + '==>REMOVED-LEAKED-KEY')})")
        book.add(PHASES[3], "git push --force --all && git push --force --tags")
    _review(book, records, keys)
    lines = [f"# {_label(title)}" if title else "# Incident response runbook",
             "# trailbook prints these commands, generated from the findings; it never runs them. Review each one,",
             "# then run it yourself. Values from CloudTrail are shell-quoted; <PLACEHOLDERS> are yours to fill in."]
    for n, phase in enumerate(PHASES, 1):
        steps = book.phases[phase] or ["# nothing found for this step"]
        lines += ["", f"# {n}. {phase}", *steps]
    return "\n".join(lines)


@dataclass
class Runbook:
    """The response as commands to copy; empty (and silent) when not applicable."""

    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text


def runbook(incident: IncidentScope, found: pd.DataFrame | None = None, *, compromised: bool | None = None,
            now: object = None) -> Runbook:
    """The response for the scoped key, generated from its findings (see `response_runbook`).
    Keys the compromised key created are deactivated in step 1 too. Printed, never executed."""
    if not incident.active:
        return _hunt_runbooks(found, now=now)
    judged = is_compromised(incident, found) if compromised is None else compromised
    key = incident.access_key_id
    if not judged or not key:
        return Runbook()
    user = user_of(incident)
    spawned = incident.spawned
    made = spawned[spawned["kind"] == "access key"] if not spawned.empty else spawned
    created_keys = {row.spawned_key_id: row.spawned_name if isinstance(row.spawned_name, str) and row.spawned_name
                    else None for row in made.itertuples()
                    if isinstance(row.spawned_key_id, str) and row.spawned_key_id.startswith("AKIA")}
    records = found if found is not None else F.empty()
    title = f"Response runbook for {key}" + (f" (IAM user {user})" if user else "")
    return Runbook(response_runbook(records, keys={key: user}, created_keys=created_keys, now=now, title=title))


# In hunt mode, the incidents this severe get a runbook each (a scheduled report names no key).
HUNT_RUNBOOK_SEVERITIES = ("critical", "high")


def _hunt_runbooks(found: pd.DataFrame | None, *, now: object = None) -> Runbook:
    """One runbook per critical or high incident of the hunt's findings, most severe first."""
    if found is None or found.empty:
        return Runbook()
    records = I.finding_records(found)
    by_key = {I.finding_key(r): r for r in records}
    books = []
    for incident in I.correlate(found).incidents:
        if incident.severity not in HUNT_RUNBOOK_SEVERITIES:
            continue
        members = [by_key[k] for k in incident.finding_keys if k in by_key]
        # Named by id, which the index shows too (its numbering covers every notebook's findings).
        title = f"Response runbook for incident {incident.id} ({incident.severity})"
        books.append(response_runbook(members, now=now, title=title))
    return Runbook("\n\n".join(books))


def print_runbook(incident: IncidentScope, found: pd.DataFrame | None = None, *,
                  compromised: bool | None = None) -> None:
    """Print the runbook: for the scoped key when it is judged compromised; in hunt mode, one for
    each critical or high incident of the findings."""
    book = runbook(incident, found, compromised=compromised)
    if book:
        print(book.text)
