"""Python stages: detections whose SQL selects candidate events and whose verdict needs a parser.

A query declares ``stage: <name>`` in its header. Its SQL returns the finding columns, one row per
candidate event, plus the inputs the stage reads; the stage keeps the rows that are findings,
sets their severity and replaces its inputs with readable columns. Session.run applies it on
every engine, before masking, so every consumer sees the same findings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from . import resource_policy as R

# Inputs a resource_policy query adds after the finding columns; the stage drops them.
RESOURCE_POLICY_INPUTS = ("event_source", "request_parameters", "trusted_accounts", "trusted_org_ids")


def _items(value: Any) -> list[str]:
    if value is None or isinstance(value, float):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v is not None]


def resource_policy(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the events whose policy or grant lets in someone outside the trusted set."""
    kept: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        trust = R.Trust.of(_items(row.get("trusted_accounts")) + _items(row.get("account_id")),
                           _items(row.get("trusted_org_ids")))
        names = _items(row.get("event_names"))
        kind, resource, grants = R.grants_of_event(str(row.get("event_source") or ""), names[0] if names else "",
                                                   row.get("request_parameters"), trust)
        level = R.worst(grants)
        if level is None:
            continue
        for column in RESOURCE_POLICY_INPUTS:
            row.pop(column, None)
        row.update(
            severity=R.SEVERITY[level], exposure=level, resource_type=kind, resource=resource,
            grantees=sorted({g.principal for g in grants}),
            grants=json.dumps([g.to_dict() for g in grants], sort_keys=True),
        )
        kept.append(row)
    columns = [c for c in frame.columns if c not in RESOURCE_POLICY_INPUTS]
    columns += ["exposure", "resource_type", "resource", "grantees", "grants"]
    return pd.DataFrame(kept, columns=columns)


STAGES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {"resource_policy": resource_policy}


def apply(name: str | None, frame: pd.DataFrame) -> pd.DataFrame:
    return frame if not name else STAGES[name](frame)
