"""Can the caller use this KMS key? DescribeKey (its state), then its key policy (GetKeyPolicy).

A key policy lets the caller use a key when an Allow statement names the caller (its user ARN, or
the role behind its assumed-role session), its account (`arn:aws:iam::<account>:root` or the bare
id, which hands the decision to IAM policies in that account), or everyone (`*`) limited to the
caller's account by `kms:CallerAccount`. A Deny statement without conditions that names the caller
wins. Other conditions are not evaluated here; the detail says so, and the test query is the proof.

GetKeyPolicy works only in the key's own account ("Cross-account use: No", KMS API reference), so
the policy of a key in another account (a log-archive account) cannot be read; that is a WARN
whose proof is the test query.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from ..resource_policy import account_of, statements
from .checks import FAIL, PASS, WARN, Report, guarded

_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/")
_ACCOUNT_KEYS = ("kms:calleraccount", "aws:principalaccount")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _names_caller(principal: Any, caller_arn: str, account: str) -> str | None:
    """How `principal` names the caller: 'caller', 'account' (delegated to IAM), 'everyone', or None."""
    if principal == "*":
        return "everyone"
    values = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    assumed = _ASSUMED.match(caller_arn)
    for value in values:
        if value == "*":
            return "everyone"
        if value == caller_arn or (assumed and value.startswith(f"arn:{assumed.group(1)}:iam::{account}:role/")
                                   and value.endswith(f"/{assumed.group(3)}")):
            return "caller"
    if any(v in (account, f"arn:aws:iam::{account}:root") or re.match(rf"^arn:aws[a-z-]*:iam::{account}:root$", v)
           for v in values):
        return "account"
    return None


def _allows_action(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(statement.get("Action")))


def _conditions(condition: Any) -> tuple[list[str] | None, bool]:
    """(the accounts a kms:CallerAccount / aws:PrincipalAccount condition allows, or None without one;
    whether any other condition is set)."""
    accounts, others = None, False
    for operator, pairs in (condition.items() if isinstance(condition, dict) else []):
        for key, value in (pairs.items() if isinstance(pairs, dict) else [("?", None)]):
            if key.lower() in _ACCOUNT_KEYS and operator.lower() in ("stringequals", "stringlike"):
                accounts = _as_list(value)
            else:
                others = True
    return accounts, others


def policy_verdict(policy: Any, caller_arn: str, account: str, actions: tuple[str, ...]) -> tuple[str, str]:
    """(PASS/FAIL, why) for whether the key policy lets the caller make every one of `actions`."""
    found = statements(policy)
    reasons = []
    for action in actions:
        allowed, denied = [], []
        for statement in found:
            if not _allows_action(statement, action) or "Principal" not in statement:
                continue
            how = _names_caller(statement.get("Principal"), caller_arn, account)
            if how is None:
                continue
            condition = statement.get("Condition")
            if statement.get("Effect") == "Deny":
                if not condition:
                    denied.append(statement.get("Sid") or "a Deny statement")
                continue
            limit, others = _conditions(condition)
            if limit is not None and account not in limit:
                continue  # limited to other accounts
            if how == "everyone" and limit is None:
                continue  # everyone, not limited to the caller's account: not counted as a grant to it
            allowed.append((how, others))
        if denied:
            return FAIL, f"{action} is denied to the caller by {denied[0]}"
        if not allowed:
            return FAIL, f"no statement allows {action} to {caller_arn} or account {account}"
        how, conditional = sorted(allowed)[0]
        text = {"caller": "to the caller", "account": f"to account {account} (its IAM policies decide)",
                "everyone": f"to callers in account {account}"}[how]
        reasons.append(f"{action} {text}" + (" with conditions not checked here" if conditional else ""))
    return PASS, "the key policy allows " + "; ".join(reasons)


def check_key(report: Report, kms: Any, key_id: str, caller_arn: str, account: str, actions: tuple[str, ...],
              what: str, policy: str) -> None:
    """One `kms` line for the key that encrypts `what`."""
    described = guarded(report, "kms", "kms:DescribeKey", f"{policy} --kms-key-arn <key arn>",
                        lambda: kms.describe_key(KeyId=key_id))
    if described is None:
        return
    meta = described.get("KeyMetadata", {})
    arn = meta.get("Arn") or key_id
    state = meta.get("KeyState") or ("Enabled" if meta.get("Enabled") else "Disabled")
    if state != "Enabled":
        report.add("kms", FAIL, f"{what} is encrypted with {arn}, which is {state}: nothing it encrypted can be read",
                   "enable the key (or cancel its deletion) in KMS")
        return
    owner = account_of(arn)
    if owner and owner != account:
        report.add("kms", WARN, f"{what} is encrypted with {arn} in account {owner}; its key policy can only be "
                   "read there (GetKeyPolicy is not cross-account)",
                   f"if the test query fails on KMS, ask account {owner} to allow {', '.join(actions)} "
                   f"for {caller_arn} in the key policy")
        return
    if meta.get("KeyManager") == "AWS":
        report.add("kms", PASS, f"{what} is encrypted with the AWS managed key {arn}: usable through its service "
                   f"by callers in account {account} that IAM allows")
        return
    got = guarded(report, "kms", "kms:GetKeyPolicy", f"{policy} --kms-key-arn {arn}",
                  lambda: kms.get_key_policy(KeyId=arn, PolicyName="default"))
    if got is None:
        return
    status, why = policy_verdict(got.get("Policy"), caller_arn, account, actions)
    fix = f"add a statement to {arn}'s key policy allowing {', '.join(actions)} for {caller_arn}" \
        if status == FAIL else ""
    report.add("kms", status, f"{what} is encrypted with {arn}: {why}", fix)
