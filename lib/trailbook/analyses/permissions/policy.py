"""What a principal's policy is today, what least-privilege policy its use suggests, and the diff
between the two."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .principal_policies import Principal, as_list


def suggested_policy(used: pd.DataFrame, principal_arn: str) -> dict[str, Any]:
    """A policy of the actions the principal really used, scoped to the resource ARNs CloudTrail
    named for them (``*`` where it named none). Calls needing no permission are left out."""
    mine = used[used["principal_arn"].eq(principal_arn) & used["iam_action"].notna()] if not used.empty else used
    by_resources: dict[tuple[str, ...], set[str]] = {}
    for row in mine.to_dict("records"):
        scoped = tuple(sorted(set(row["resource_arns"] or []))) or ("*",)
        by_resources.setdefault(scoped, set()).add(row["iam_action"])
    # Actions that also appear unscoped need "*"; keep each action in one statement only.
    unscoped = by_resources.get(("*",), set())
    statements = []
    for scoped, names in sorted(by_resources.items(), key=lambda item: (item[0] == ("*",), item[0])):
        names = names if scoped == ("*",) else names - unscoped
        if names:
            statements.append({"Effect": "Allow", "Action": sorted(names),
                               "Resource": scoped[0] if len(scoped) == 1 else list(scoped)})
    return {"Version": "2012-10-17", "Statement": statements}


def current_policy(principal: Principal) -> dict[str, Any]:
    """Today's policies of a principal merged into one document (statements tagged by policy)."""
    statements = []
    for policy in principal.policies:
        if policy.document is None:
            statements.append({"Sid": _sid(policy.name),
                               "Comment": f"{policy.name} ({policy.origin}): document not visible"})
            continue
        for statement in as_list(policy.document.get("Statement", [])):
            statements.append({"Sid": _sid(policy.name), **{k: v for k, v in statement.items() if k != "Sid"}})
    return {"Version": "2012-10-17", "Statement": statements}


def _sid(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name.title())[:100] or "Policy"


def policy_diff(current: Mapping[str, Any], suggested: Mapping[str, Any], *, principal_arn: str = "") -> str:
    """Unified diff of two policies as pretty JSON (today's → suggested)."""
    label = f" {principal_arn}" if principal_arn else ""
    return "".join(difflib.unified_diff(
        json.dumps(current, indent=2, sort_keys=True).splitlines(keepends=True),
        json.dumps(suggested, indent=2, sort_keys=True).splitlines(keepends=True),
        fromfile=f"current{label}", tofile=f"suggested{label}",
    ))
