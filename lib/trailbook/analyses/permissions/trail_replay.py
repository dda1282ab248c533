"""Which principals the CloudTrail window created or granted, and with which policies: the IAM
events of ``policies_in_trail`` replayed in time order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .inputs import PermissionsError, utc_timestamp
from .principal_policies import PolicyDocument, Principal, decode_document, known_aws_managed

REQUIRED_COLUMNS = frozenset({"eventtime", "eventname", "account_id", "role_name", "user_name", "group_name",
                              "policy_name", "policy_arn", "policy_document", "created_arn"})
MEMBERSHIP_EVENTS = ("AddUserToGroup", "RemoveUserFromGroup")
POLICY_VERSION_EVENTS = ("CreatePolicy", "CreatePolicyVersion")


def trail_grants(policy_events: pd.DataFrame) -> list[Principal]:
    """Principals rebuilt from ``policies_in_trail`` rows: created and granted inside the window.

    Replays the events in time order: Create* makes the principal, Put*Policy sets an inline
    document, Attach*Policy attaches a managed one (its document from CreatePolicy /
    CreatePolicyVersion in the same trail, or a well-known AWS managed policy, else not
    visible), Delete*/Detach* remove them. Group grants apply to members added in the trail.
    """
    missing = REQUIRED_COLUMNS - set(policy_events.columns)
    if missing:
        raise PermissionsError(f"not a policies_in_trail result: missing columns {sorted(missing)}")
    replay = _Replay()
    for row in _in_time_order(policy_events):
        replay.apply(row)
    return replay.principals()


def _in_time_order(policy_events: pd.DataFrame) -> list[dict[str, Any]]:
    ordered = policy_events.sort_values(["eventtime"], kind="stable")
    # Missing values come back as NaN (truthy); make them None so "is there a role name" is honest.
    return ordered.astype(object).where(ordered.notna(), None).to_dict("records")


def _target(row: dict[str, Any]) -> tuple[str, str] | None:
    """The role, group or user an event acts on; a membership event acts on its user, not the group."""
    if row.get("role_name"):
        return "role", row["role_name"]
    if row.get("group_name") and row["eventname"] not in MEMBERSHIP_EVENTS:
        return "group", row["group_name"]
    if row.get("user_name"):
        return "user", row["user_name"]
    return None


@dataclass
class _Entity:
    """A user, role or group as the events so far left it."""

    arn: str
    created: Any = None
    inline: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # policy name → document
    attached: list[str] = field(default_factory=list)  # managed policy ARNs
    groups: list[str] = field(default_factory=list)  # users only


class _Replay:
    """IAM grants as the events replayed so far left them."""

    def __init__(self) -> None:
        self.managed: dict[str, dict[str, Any] | None] = {}  # managed policy ARN → default document
        self.entities: dict[tuple[str, str, str], _Entity] = {}  # (kind, account, name) → entity

    def entity(self, kind: str, account: str, name: str, arn: str | None = None, created: Any = None) -> _Entity:
        key = (kind, account, name)
        if key not in self.entities:
            self.entities[key] = _Entity(arn or f"arn:aws:iam::{account}:{kind}/{name}", created)
        found = self.entities[key]
        if arn:
            found.arn = arn
        if created and not found.created:
            found.created = created  # events of one second may arrive Attach-before-Create
        return found

    def apply(self, row: dict[str, Any]) -> None:
        event = row["eventname"]
        target = _target(row)
        if event in POLICY_VERSION_EVENTS:
            self._set_managed_document(row)
        elif target is None:
            return
        elif event in MEMBERSHIP_EVENTS:
            self._set_membership(row)
        else:
            kind, name = target
            created = event.startswith("Create")
            item = self.entity(kind, row["account_id"], name, row.get("created_arn") if created else None,
                               row["eventtime"] if created else None)
            _set_grant(item, row)

    def _set_managed_document(self, row: dict[str, Any]) -> None:
        event = row["eventname"]
        if row.get("policy_arn") and (event == "CreatePolicy" or str(row.get("set_as_default")).lower() == "true"):
            self.managed[row["policy_arn"]] = decode_document(row.get("policy_document"))

    def _set_membership(self, row: dict[str, Any]) -> None:
        user = self.entity("user", row["account_id"], row["user_name"])
        group = row["group_name"]
        if row["eventname"] == "AddUserToGroup" and group not in user.groups:
            user.groups.append(group)
        elif row["eventname"] == "RemoveUserFromGroup" and group in user.groups:
            user.groups.remove(group)

    def documents(self, item: _Entity, group: str = "") -> list[PolicyDocument]:
        """The entity's policies; a group's are named ``group/policy`` when listed on a member."""
        prefix = f"{group}/" if group else ""
        docs = [PolicyDocument(prefix + name, f"trail {'group ' if group else ''}inline", doc)
                for name, doc in item.inline.items()]
        for arn in item.attached:
            doc = self.managed.get(arn) or known_aws_managed(arn)
            docs.append(PolicyDocument(prefix + arn.rsplit("/", 1)[-1], f"trail {'group ' if group else ''}managed",
                                       doc, arn))
        return docs

    def principals(self) -> list[Principal]:
        out = []
        for (kind, account, name), item in self.entities.items():
            if kind == "group":
                continue
            docs = self.documents(item)
            for group in item.groups:
                if ("group", account, group) in self.entities:
                    docs += self.documents(self.entities[("group", account, group)], group=group)
            out.append(Principal(account, item.arn, kind, name, utc_timestamp(item.created), docs,
                                 groups=tuple(item.groups), from_trail=True))
        return out


def _set_grant(item: _Entity, row: dict[str, Any]) -> None:
    """Put/Delete an inline policy, Attach/Detach a managed one; other events only name the entity."""
    event, policy_name, policy_arn = row["eventname"], row.get("policy_name"), row.get("policy_arn")
    if event.startswith("Put") and event.endswith("Policy") and policy_name:
        item.inline[policy_name] = decode_document(row.get("policy_document"))
    elif event.startswith("Delete") and event.endswith("Policy") and policy_name:
        item.inline.pop(policy_name, None)
    elif event.startswith("Attach") and policy_arn and policy_arn not in item.attached:
        item.attached.append(policy_arn)
    elif event.startswith("Detach") and policy_arn in item.attached:
        item.attached.remove(policy_arn)
