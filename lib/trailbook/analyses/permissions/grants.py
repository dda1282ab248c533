"""What a principal's policies allow: Allow statements expanded against the IAM action list
(``Action`` and ``NotAction``), minus unconditional ``Deny`` on every resource; other Deny
statements are reported, not applied."""

from __future__ import annotations

from dataclasses import dataclass

from trailbook.iam import actions as A

from .inputs import PermissionsError
from .principal_policies import Principal, as_list


@dataclass
class Grant:
    """What a principal's policies allow, expanded against the action list."""

    actions: frozenset[str]
    patterns: dict[str, list[str]]  # granting pattern → policy names
    resources: dict[str, list[str]]  # granting pattern → Resource values
    unmatched_patterns: list[str]  # wildcards that matched no listed action
    not_action_statements: int
    conditional_patterns: list[str]
    deny_notes: list[str]
    hidden_policies: list[str]  # attached but not visible (no document)

    def granting_patterns(self, action: str) -> list[str]:
        return [p for p in self.patterns if A.action_matches(p, action)]


def grant_of(principal: Principal, action_list: A.ActionList | None = None) -> Grant:
    """Expand a principal's Allow statements; subtract unconditional Deny on every resource."""
    listed = action_list or A.load_action_list()
    allowed: set[str] = set()
    patterns: dict[str, list[str]] = {}
    resources: dict[str, list[str]] = {}
    unmatched: list[str] = []
    conditional: list[str] = []
    deny_notes: list[str] = []
    denied: set[str] = set()
    not_action = 0
    hidden = [d.name for d in principal.policies if d.document is None]
    for policy in principal.policies:
        if policy.document is None:
            continue
        statements = policy.document.get("Statement", [])
        for statement in as_list(statements):
            if not isinstance(statement, dict):
                raise PermissionsError(f"{principal.arn}: policy {policy.name} has a statement that is not an object")
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise PermissionsError(f"{principal.arn}: policy {policy.name}: Effect {effect!r} is not Allow or Deny")
            statement_resources = [str(r) for r in as_list(statement.get("Resource", "*"))]
            if "Action" in statement:
                expanded: set[str] = set()
                for pattern in as_list(statement["Action"]):
                    found = A.expand_action(pattern, listed)
                    if not found:
                        unmatched.append(pattern)
                    expanded |= found
                    if effect == "Allow":
                        patterns.setdefault(pattern, []).append(policy.name)
                        resources.setdefault(pattern, []).extend(statement_resources)
                        if statement.get("Condition"):
                            conditional.append(pattern)
            elif "NotAction" in statement:
                not_action += 1
                expanded = set(A.expand_not_action(as_list(statement["NotAction"]), listed))
                if effect == "Allow":
                    label = "NotAction:" + ",".join(map(str, as_list(statement["NotAction"])))
                    patterns.setdefault(label, []).append(policy.name)
                    resources.setdefault(label, []).extend(statement_resources)
            else:
                raise PermissionsError(f"{principal.arn}: policy {policy.name} has a statement without Action or "
                                       "NotAction")
            if effect == "Allow":
                allowed |= expanded
            elif statement.get("Condition") or as_list(statement.get("Resource", "*")) != ["*"]:
                deny_notes.append(f"{policy.name}: Deny with conditions or specific resources not applied")
            else:
                denied |= expanded
    return Grant(frozenset(allowed - denied), patterns, resources, sorted(set(unmatched)), not_action,
                 sorted(set(conditional)), deny_notes, hidden)
