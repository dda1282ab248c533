"""Credential hygiene (CIS AWS Foundations 1.4–1.14 from the credential report), access-key ages,
and guardrail posture (CloudTrail, GuardDuty, S3 Block Public Access, IAM Access Analyzer).

Everything reads an IAM snapshot (``trailbook.iam``), so it runs offline. Every check yields
``pass``, ``fail`` or ``unknown``; ``unknown`` is used when the snapshot cannot say (a call that
failed, a sentinel like ``no_information``, or an older snapshot without the data), never
silently counted as a pass.

One module per question:

- ``cis_checks``: does each credential pass CIS 1.4–1.14?
- ``access_keys``: how old is each key, whose user looks gone, what did the keys do in the trail?
- ``posture``: are the account's guardrails on?
- ``access_analyzer``: what Access Analyzer reports, and where it agrees with trailbook.
- ``report``: failed checks as findings.
- ``inputs``: the time the checks judge by.

The notebook ``credential_hygiene`` calls these one per cell; every name it and the tests use is
importable from this package.
"""

from trailbook.analyses.permissions.inputs import PermissionsError
from trailbook.analyses.permissions.snapshot import open_snapshot, snapshot_accounts

from .access_analyzer import access_analyzer_findings, cross_check
from .access_keys import (
    AGE_BUCKETS,
    age_bucket,
    departed_user_keys,
    key_age_buckets,
    key_inventory,
    key_trail_activity,
)
from .cis_checks import CHECK_COLUMNS, CHECKS, check_summary, credential_checks, failed_checks
from .posture import POSTURE_COLUMNS, POSTURE_DETECTIONS, posture_checks
from .report import findings

__all__ = [
    "AGE_BUCKETS", "CHECKS", "CHECK_COLUMNS", "POSTURE_COLUMNS", "POSTURE_DETECTIONS", "PermissionsError",
    "access_analyzer_findings", "age_bucket", "check_summary", "credential_checks", "cross_check",
    "departed_user_keys", "failed_checks", "findings", "key_age_buckets", "key_inventory", "key_trail_activity",
    "open_snapshot", "posture_checks", "snapshot_accounts",
]
