"""Which actions each principal really called (CloudTrail), and how that compares with what its
policies grant: used, unused, used but not granted, and the risk of what stays unused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from trailbook.iam import actions as A

from .grants import grant_of
from .principal_policies import Principal
from .risk import RISK_ORDER, RISK_SEVERITY, risk_of

if TYPE_CHECKING:
    from trailbook.session import Session

USED_COLUMNS = ["account_id", "principal_arn", "identity_type", "eventsource", "eventname", "iam_action",
                "mapping", "calls", "first_seen", "last_seen", "resource_arns"]
COMPARISON_COLUMNS = ["account_id", "principal_arn", "kind", "granted_actions", "used_actions", "used_not_granted",
                      "unused_actions", "unused_privilege_escalation", "unused_data_access", "wildcard_patterns",
                      "unused_services", "policies_not_visible", "risk", "severity"]


def map_used(frame: pd.DataFrame, action_list: A.ActionList | None = None) -> pd.DataFrame:
    """Add the IAM action (and how it was mapped) to ``principal_actions_used`` rows."""
    listed = action_list or A.load_action_list()
    if frame.empty:
        return pd.DataFrame(columns=USED_COLUMNS)
    mapped = [A.event_to_action(s, n, listed) for s, n in zip(frame["eventsource"], frame["eventname"], strict=True)]
    out = frame.assign(iam_action=[m.action for m in mapped], mapping=[m.kind for m in mapped])
    out["resource_arns"] = [list(v) if v is not None and not isinstance(v, str) else ([] if v is None else [v])
                            for v in out["resource_arns"]]
    return out[USED_COLUMNS].reset_index(drop=True)


def actions_used(session: Session) -> pd.DataFrame:
    """Successful calls per principal from CloudTrail, mapped to IAM actions."""
    return map_used(session.run("principal_actions_used"))


def compare(found: Sequence[Principal], used: pd.DataFrame, *,
            services: pd.DataFrame | None = None, action_list: A.ActionList | None = None) -> pd.DataFrame:
    """Per principal: granted vs used (CloudTrail), unused services (Access Advisor) and risk.

    Columns: account_id, principal_arn, kind, granted_actions, used_actions, used_not_granted,
    unused_actions, unused_privilege_escalation, unused_data_access, wildcard_patterns,
    unused_services, policies_not_visible, risk, severity.
    """
    listed = action_list or A.load_action_list()
    by_principal = {arn: part for arn, part in used.groupby("principal_arn")} if not used.empty else {}
    rows = []
    for principal in found:
        grant = grant_of(principal, listed)
        part = by_principal.get(principal.arn)
        called = set() if part is None else {a for a in part["iam_action"].dropna()}
        used_granted = {a for a in called if a in grant.actions or grant.granting_patterns(a)}
        unused = grant.actions - {listed.canonical(a) or a for a in used_granted}
        privesc = sorted(a for a in unused if risk_of(a) == "privilege_escalation")
        data = sorted(a for a in unused if risk_of(a) == "data_access")
        wildcards = sorted(p for p in grant.patterns if A.has_wildcard(p) or p.startswith("NotAction:"))
        unused_services: list[str] = []
        if services is not None and not services.empty:
            mine = services[services["principal_arn"].eq(principal.arn)]
            unused_services = sorted(mine.loc[mine["status"].ne("used"), "service_namespace"])
        risk = ("privilege_escalation" if privesc else "data_access" if data else
                "wildcard" if wildcards and unused else "other")
        rows.append({
            "account_id": principal.account_id, "principal_arn": principal.arn, "kind": principal.kind,
            "granted_actions": len(grant.actions), "used_actions": len(used_granted),
            "used_not_granted": sorted(called - used_granted), "unused_actions": len(unused),
            "unused_privilege_escalation": privesc, "unused_data_access": data,
            "wildcard_patterns": wildcards, "unused_services": unused_services,
            "policies_not_visible": grant.hidden_policies, "risk": risk,
            "severity": RISK_SEVERITY[risk] if (unused or unused_services) else "info",
        })
    frame = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    if frame.empty:
        return frame
    frame["_rank"] = frame["risk"].map(RISK_ORDER)
    frame = frame.sort_values(["_rank", "unused_actions"], ascending=False, kind="stable").drop(columns="_rank")
    return frame.reset_index(drop=True)


def unused_risky_actions(comparison: pd.DataFrame) -> pd.DataFrame:
    """The risk ranking: one row per unused privilege-escalation or data-access action."""
    rows = []
    for row in comparison.to_dict("records"):
        for category, column in (("privilege_escalation", "unused_privilege_escalation"),
                                 ("data_access", "unused_data_access")):
            for action in row[column]:
                rows.append({"account_id": row["account_id"], "principal_arn": row["principal_arn"],
                             "action": action, "risk": category, "severity": RISK_SEVERITY[category]})
    frame = pd.DataFrame(rows, columns=["account_id", "principal_arn", "action", "risk", "severity"])
    return frame.sort_values(["risk", "principal_arn", "action"], ascending=[False, True, True]).reset_index(drop=True)
