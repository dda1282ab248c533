"""The whole unused-permissions report, computed once: its parts, its findings, its caveats, and
the small helpers the notebook shows them with (one call per cell)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from trailbook import findings as F
from trailbook.iam import actions as A
from trailbook.iam.snapshot import Snapshot, iso_z

from .access_advisor import ACTION_COLUMNS, action_last_accessed, service_last_accessed, service_last_accessed_empty
from .inactivity import inactive_principals
from .inputs import PermissionsError, as_of, check_days, utc_timestamp
from .policy import current_policy, policy_diff, suggested_policy
from .principal_policies import Principal, principal_table, principals
from .trail_replay import trail_grants
from .usage import USED_COLUMNS, compare, map_used, unused_risky_actions

if TYPE_CHECKING:
    from trailbook.analyses.incident import Story
    from trailbook.session import Session

CAVEATS: tuple[str, ...] = (
    "Access Advisor counts every authenticated attempt, denied ones included: 'used' there means "
    "'tried', not 'allowed'.",
    "Access Advisor and this analysis apply identity-policy logic only: service control policies, "
    "permissions boundaries, resource-based policies and session policies are not evaluated.",
    "Access Advisor lags by about 4 hours; very recent use may not show yet. It tracks at most 400 days.",
    "CloudTrail shows only what was logged: data events (S3 objects, Lambda invoke, DynamoDB items) "
    "appear only if the trail records them, so data-plane permissions can look unused.",
    "The IAM action list is derived from botocore's service models plus known permission-only "
    "actions; '*' and NotAction expand to the actions it lists, a subset of what AWS grants.",
    "Conditions in Allow statements are not evaluated: a conditional grant counts as granted.",
)
DETECTION_OVER_PRIVILEGED = "unused_permissions_over_privileged"
DETECTION_INACTIVE = "unused_permissions_inactive_principal"
MITRE_OVER_PRIVILEGED = ["T1078.004"]
MITRE_INACTIVE = ["T1078.004", "T1098"]


@dataclass
class PermissionsReport:
    """Everything the unused-permissions notebook shows, computed once."""

    snapshot_time: str
    unused_days: int
    inactive_days: int
    principals: list[Principal]
    principal_table: pd.DataFrame
    services: pd.DataFrame
    actions: pd.DataFrame
    used: pd.DataFrame
    comparison: pd.DataFrame
    risky: pd.DataFrame
    inactive: pd.DataFrame
    findings: pd.DataFrame
    caveats: tuple[str, ...] = CAVEATS
    story: Story | None = None  # the window's incidents: an identity one created is removed, not right-sized

    def principal(self, arn: str) -> Principal:
        for p in self.principals:
            if p.arn == arn:
                return p
        raise PermissionsError(f"principal {arn!r} is not in this report")


def analyse(session: Session | None, snapshot: Snapshot | None, *, unused_days: int = 90, inactive_days: int = 90,
            accounts: Sequence[str] = (), include_trail_principals: bool = True, now: Any = None,
            story: Story | None = None) -> PermissionsReport:
    """Run the whole unused-permissions analysis.

    ``session`` (CloudTrail) may be None for a snapshot-only report; ``snapshot`` may be None
    for a trail-only report (principals and grants rebuilt from ``policies_in_trail``).
    With the window's ``story`` (``analyses.incident.story``), ``incident`` marks each principal an
    incident implicates; one it created gets "remove" instead of a least-privilege policy.
    """
    if session is None and snapshot is None:
        raise PermissionsError("give a session (CloudTrail), an IAM snapshot, or both")
    check_days(unused_days, "unused_days")
    check_days(inactive_days, "inactive_days")
    listed = A.load_action_list()
    accounts = list(accounts or [])
    found = principals(snapshot, accounts) if snapshot is not None else []
    used = pd.DataFrame(columns=USED_COLUMNS)
    activity = None
    if session is not None:
        used = map_used(session.run("principal_actions_used"), listed)
        activity = session.run("principal_last_activity")
        if include_trail_principals:
            known = {p.arn for p in found}
            found += [p for p in trail_grants(session.run("policies_in_trail")) if p.arn not in known]
    if accounts:
        found = [p for p in found if p.account_id in accounts]
    services = service_last_accessed(snapshot, unused_days=unused_days, now=now, accounts=accounts) if snapshot else \
        service_last_accessed_empty()
    actions = action_last_accessed(snapshot, unused_days=unused_days, now=now, accounts=accounts) if snapshot else \
        pd.DataFrame(columns=ACTION_COLUMNS)
    comparison = compare(found, used, services=services, action_list=listed)
    if story is not None:
        comparison.insert(2, "incident", story.marks(comparison, principal="principal_arn", account="account_id"))
    inactive = inactive_principals(found, snapshot, activity, inactive_days=inactive_days, now=now)
    stamp = iso_z(_report_time(session, snapshot, now).to_pydatetime())
    report = PermissionsReport(
        snapshot_time=stamp, unused_days=unused_days, inactive_days=inactive_days, principals=found,
        principal_table=principal_table(found), services=services, actions=actions, used=used,
        comparison=comparison, risky=unused_risky_actions(comparison), inactive=inactive,
        findings=F.empty(), story=story,
    )
    report.findings = findings(report)
    return report


def _report_time(session: Session | None, snapshot: Snapshot | None, now: Any) -> pd.Timestamp:
    """The time the report speaks for: the snapshot's (or ``now``), else the end of the trail window."""
    if snapshot is not None:
        return as_of(snapshot, now)
    if now is not None:
        return utc_timestamp(now)
    assert session is not None  # analyse refuses a report with neither
    return pd.Timestamp(session.end).tz_convert("UTC")


def findings(report: PermissionsReport) -> pd.DataFrame:
    """Findings in the shared columns: over-privileged principals and inactive principals.

    Not CloudTrail findings: first_seen/last_seen are the snapshot time, event_ids empty,
    event_count 0; extra columns say what is unused and why.
    """
    rows = []
    base: dict[str, Any] = {"first_seen": report.snapshot_time, "last_seen": report.snapshot_time, "region": None,
                            "access_key_id": None, "source_ip": None, "user_agent": None, "event_names": [],
                            "event_count": 0, "event_ids": []}
    for row in report.comparison.to_dict("records"):
        if row["severity"] == "info":
            continue
        detail = _over_privileged_detail(row, report.unused_days)
        if _created(report, row["principal_arn"], row["account_id"]):
            detail = f"{row['incident']}, not right-size it. It holds: {detail}"
        rows.append({**base, "detection": DETECTION_OVER_PRIVILEGED, "severity": row["severity"],
                     "account_id": row["account_id"], "principal_arn": row["principal_arn"],
                     "mitre": MITRE_OVER_PRIVILEGED, "risk": row["risk"], "unused_actions": row["unused_actions"],
                     "granted_actions": row["granted_actions"], "detail": detail, "incident": row.get("incident")})
    risky = {r["principal_arn"]: r["risk"] for r in report.comparison.to_dict("records")}
    for row in report.inactive.to_dict("records"):
        severity = "medium" if risky.get(row["principal_arn"]) == "privilege_escalation" else "low"
        rows.append({**base, "detection": DETECTION_INACTIVE, "severity": severity,
                     "account_id": row["account_id"], "principal_arn": row["principal_arn"], "mitre": MITRE_INACTIVE,
                     "risk": risky.get(row["principal_arn"]), "unused_actions": None, "granted_actions": None,
                     "detail": f"no activity in {report.inactive_days} days ({row['evidence']})",
                     "incident": report.story.mark(principal=row["principal_arn"], account=row["account_id"])
                     if report.story is not None else None})
    if not rows:
        return F.empty()
    return F.sort(F.normalize(pd.DataFrame(rows)))


def _created(report: PermissionsReport, principal_arn: str, account_id: str | None = None) -> bool:
    return report.story is not None and report.story.created(principal_arn, account_id)


def _over_privileged_detail(row: dict[str, Any], unused_days: int) -> str:
    """What an over-privileged principal leaves unused, for the finding's detail."""
    detail = []
    if row["unused_privilege_escalation"]:
        detail.append(f"unused privilege escalation: {', '.join(row['unused_privilege_escalation'][:10])}")
    if row["unused_data_access"]:
        detail.append(f"unused data access: {', '.join(row['unused_data_access'][:10])}")
    if row["wildcard_patterns"]:
        detail.append(f"wildcards: {', '.join(row['wildcard_patterns'][:10])}")
    if row["unused_services"]:
        detail.append(f"services not used in {unused_days} days (Access Advisor): "
                      f"{', '.join(row['unused_services'][:15])}")
    return "; ".join(detail) or "unused grants"


# --- display helpers (one call per notebook cell) ---------------------------------------------------

class _Text:
    """Plain text shown as preformatted HTML (diffs, policies), carrying the text itself."""

    def __init__(self, text: str, title: str = "") -> None:
        self.text, self.title = text, title

    def _repr_mimebundle_(self, include=None, exclude=None):
        heading = f"<h4>{html.escape(self.title)}</h4>" if self.title else ""
        return {"text/plain": self.text, "text/html": f"{heading}<pre>{html.escape(self.text)}</pre>"}

    def __str__(self) -> str:
        return self.text


def show_caveats(report: PermissionsReport | None = None) -> _Text:
    """The caveats every reader of an unused-permissions report must see."""
    return _Text("\n".join(f"- {c}" for c in (report.caveats if report else CAVEATS)), "Caveats")


def pick_principal(report: PermissionsReport, principal_arn: str = "") -> str:
    """``principal_arn`` if given (must be in the report), else the top-ranked over-privileged one that
    no incident created (a backdoor is removed, not right-sized)."""
    if principal_arn:
        report.principal(principal_arn)
        return principal_arn
    flagged = report.comparison[report.comparison["severity"].ne("info")]
    flagged = flagged[[not _created(report, arn, acct) for arn, acct in
                       zip(flagged["principal_arn"], flagged["account_id"], strict=True)]]
    if flagged.empty:
        raise PermissionsError("no over-privileged principal in this report; set focus_principal")
    return str(flagged.iloc[0]["principal_arn"])


def suggested_policy_diff(report: PermissionsReport, principal_arn: str = "") -> _Text:
    """Today's policy → the suggested least-privilege policy, as a unified diff; for an identity an
    incident created, the advice to remove it instead."""
    arn = pick_principal(report, principal_arn)
    if report.story is not None and _created(report, arn):
        return _Text(f"No least-privilege policy for {arn}: {report.story.mark(principal=arn)}. "
                     "The incident runbook (key_anomalies) lists the commands.", f"Remove {arn}")
    diff = policy_diff(current_policy(report.principal(arn)), suggested_policy(report.used, arn), principal_arn=arn)
    return _Text(diff or "(no change)", f"Suggested least-privilege policy for {arn}")


def unused_services(report: PermissionsReport) -> pd.DataFrame:
    """Access Advisor rows for granted services not used in the period (never used first)."""
    frame = report.services[report.services["status"].ne("used")]
    return frame.sort_values(["status", "principal_arn", "service_namespace"], kind="stable").reset_index(drop=True)
