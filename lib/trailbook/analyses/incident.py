"""Incident scoping, "what did this key do?", and the leaked-key response runbook.

`scope(session, access_key_id=..., principal_arn=...)` gathers, from catalog context queries:
the full timeline of the key's (or principal's) calls; its source IPs and user agents with first
and last seen; regions, services and errors; every key, user, role and session it created or
assumed, followed one hop with what those did; and what changed (IAM, S3, EC2 writes).
With neither argument the scope is empty and displays nothing (hunt mode).

`runbook(...)` fills the standard leaked-key procedure with the user and key id as AWS CLI
commands to copy. trailbook never runs them: it never calls a mutating AWS API.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .. import findings as F
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
            return ""
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


@dataclass
class Runbook:
    """The leaked-key response as commands to copy; empty (and silent) when not applicable."""

    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text


def runbook(incident: IncidentScope, found: pd.DataFrame | None = None, *, compromised: bool | None = None) -> Runbook:
    """The standard leaked-key procedure filled in with this user and key id.

    Steps: 1 deactivate (do not delete yet), 2 issue a new key, 3 check the old key's use in
    CloudTrail, 4 delete the old key after QUIET_DAYS quiet days, 5 scrub it from git history.
    Keys the compromised key created are deactivated in step 1 too. Printed, never executed.
    """
    judged = is_compromised(incident, found) if compromised is None else compromised
    key = incident.access_key_id
    if not incident.active or not judged or not key:
        return Runbook()
    user = user_of(incident)
    q = shlex.quote
    user_arg = f"--user-name {q(user)} " if user else "--user-name <USER-NAME> "
    spawned = incident.spawned
    created = spawned[spawned["kind"] == "access key"] if not spawned.empty else spawned
    spawned_keys = {row.spawned_key_id: row.spawned_name for row in created.itertuples()
                    if isinstance(row.spawned_key_id, str) and row.spawned_key_id.startswith("AKIA")}
    lines = [f"# Leaked-key response for {key}" + (f" (IAM user {user})" if user else ""),
             "# trailbook prints these commands; it never runs them. Review, then run them yourself.", "",
             "# 1. Deactivate the key now. Do not delete it yet: a deactivated key can be re-enabled if something "
             "breaks.",
             f"aws iam update-access-key {user_arg}--access-key-id {q(key)} --status Inactive"]
    for extra, owner in sorted(spawned_keys.items()):
        owner_arg = f"--user-name {q(owner)} " if isinstance(owner, str) and owner else "--user-name <USER-NAME> "
        lines.append(f"aws iam update-access-key {owner_arg}--access-key-id {q(extra)} --status Inactive"
                     f"   # created with {key}")
    lines += ["", "# 2. Issue a new key for the legitimate owner and put it where the old one was used.",
              f"aws iam create-access-key {user_arg.strip()}", "",
              "# 3. Check what the old key did and whether it is still being tried (CloudTrail, last 90 days).",
              "aws cloudtrail lookup-events --lookup-attributes "
              f"AttributeKey=AccessKeyId,AttributeValue={q(key)} --max-results 50",
              f"aws iam get-access-key-last-used --access-key-id {q(key)}", "",
              f"# 4. After {QUIET_DAYS} quiet days (no use and nothing broken), delete the old key.",
              f"aws iam delete-access-key {user_arg}--access-key-id {q(key)}", "",
              "# 5. Scrub the key from git history (then rotate anything else that was in the same commit).",
              f"git log --all -S {q(key)} --oneline",
              f"git filter-repo --replace-text <(printf '%s\\n' {q(key + '==>REMOVED-LEAKED-KEY')})",
              "git push --force --all && git push --force --tags"]
    return Runbook("\n".join(lines))


def print_runbook(incident: IncidentScope, found: pd.DataFrame | None = None, *,
                  compromised: bool | None = None) -> None:
    """Print the runbook; nothing in hunt mode or when the key is not judged compromised."""
    book = runbook(incident, found, compromised=compromised)
    if book:
        print(book.text)
