"""Read-only IAM data collection and the IAM snapshot every IAM analysis reads.

Collect live (``collect_snapshot``) or open a stored snapshot (``load_snapshot``); parse a
credential report on its own with ``parse_credential_report``.
"""

from trailbook.aws import ReadOnlyViolation, RetryPolicy
from trailbook.iam.collect import CollectSettings, collect_snapshot
from trailbook.iam.credential_report import CredentialReportError, parse_credential_report
from trailbook.iam.snapshot import AccountData, Snapshot, SnapshotError, load_snapshot, write_snapshot

__all__ = [
    "AccountData",
    "CollectSettings",
    "CredentialReportError",
    "ReadOnlyViolation",
    "RetryPolicy",
    "Snapshot",
    "SnapshotError",
    "collect_snapshot",
    "load_snapshot",
    "parse_credential_report",
    "write_snapshot",
]
