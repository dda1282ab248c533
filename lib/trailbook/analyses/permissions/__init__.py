"""Unused permissions per principal: Access Advisor, CloudTrail (used vs granted), inactivity,
a suggested least-privilege policy, and a risk ranking of what stays unused.

Inputs: an IAM snapshot (``trailbook.iam``; see ``open_snapshot``) and, optionally, a session
(CloudTrail through the catalog: ``principal_actions_used``, ``principal_last_activity``,
``policies_in_trail``). Granted = the principal's identity policies from the snapshot's
authorization details (user inline + attached managed + its groups' inline and managed; role
inline + attached), or, for principals created or changed in the trail, the documents the trail
recorded (``trail_grants``). Statements are read with ``Action``/``NotAction`` expanded against
the IAM action list (``trailbook.iam.actions``); unconditional ``Deny`` on ``*`` resources is
subtracted, other Deny statements are reported, not applied.

One module per question, each importing only those above it in this list:

- ``inputs``: the error type, day counts, timestamps, the time taken as "now".
- ``snapshot``: which IAM snapshot, which of its accounts.
- ``principal_policies``: who the principals are and which policies they hold (snapshot).
- ``trail_replay``: which principals the trail created or granted, with which policies.
- ``grants``: which actions a principal's policies allow.
- ``risk``: how dangerous an action is to leave granted.
- ``access_advisor``: when each granted service and action was last used (Access Advisor).
- ``usage``: which actions were called (CloudTrail), compared with what is granted.
- ``inactivity``: which principals did nothing for N days.
- ``policy``: today's policy, the suggested least-privilege one, and their diff.
- ``exposure``: which resources someone outside the organization can reach (CloudTrail).
- ``report``: the whole analysis, its findings and caveats, and the notebook's display helpers.

The notebook ``unused_permissions`` calls ``analyse`` once and shows its parts; every name it and
the tests use is importable from this package.
"""

from .access_advisor import action_last_accessed, service_last_accessed, service_last_accessed_empty
from .exposure import exposure
from .grants import Grant, grant_of
from .inactivity import inactive_principals
from .inputs import PermissionsError
from .policy import current_policy, policy_diff, suggested_policy
from .principal_policies import KNOWN_AWS_MANAGED, PolicyDocument, Principal, principal_table, principals
from .report import (
    CAVEATS,
    DETECTION_INACTIVE,
    DETECTION_OVER_PRIVILEGED,
    MITRE_INACTIVE,
    MITRE_OVER_PRIVILEGED,
    PermissionsReport,
    analyse,
    findings,
    pick_principal,
    show_caveats,
    suggested_policy_diff,
    unused_services,
)
from .risk import DATA_ACCESS, PRIVILEGE_ESCALATION, RISK_ORDER, RISK_SEVERITY, risk_of
from .snapshot import open_snapshot, snapshot_accounts
from .trail_replay import trail_grants
from .usage import USED_COLUMNS, actions_used, compare, map_used, unused_risky_actions

__all__ = [
    "exposure",
    "CAVEATS", "DATA_ACCESS", "DETECTION_INACTIVE", "DETECTION_OVER_PRIVILEGED", "KNOWN_AWS_MANAGED",
    "MITRE_INACTIVE", "MITRE_OVER_PRIVILEGED", "PRIVILEGE_ESCALATION", "RISK_ORDER", "RISK_SEVERITY", "USED_COLUMNS",
    "Grant", "PermissionsError", "PermissionsReport", "PolicyDocument", "Principal",
    "action_last_accessed", "actions_used", "analyse", "compare", "current_policy", "findings", "grant_of",
    "inactive_principals", "map_used", "open_snapshot", "pick_principal", "policy_diff", "principal_table",
    "principals", "risk_of", "service_last_accessed", "service_last_accessed_empty", "show_caveats",
    "snapshot_accounts", "suggested_policy", "suggested_policy_diff", "trail_grants", "unused_risky_actions",
    "unused_services",
]
