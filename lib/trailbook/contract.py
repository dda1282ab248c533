"""The findings contract and the names every layer shares: columns, severities, MIME types.

Defined once here, below everything that reads or writes a finding.
"""

from __future__ import annotations

SEVERITIES = ("info", "low", "medium", "high", "critical")
KINDS = ("detection", "context")
# The shared leading output columns of every detection query.
FINDING_COLUMNS = (
    "detection", "severity", "first_seen", "last_seen", "account_id", "region", "principal_arn",
    "access_key_id", "source_ip", "user_agent", "event_names", "event_count", "event_ids", "mitre",
)
# event_ids holds every supporting eventID up to this many, so a responder can pull each event behind
# a finding; event_count is always the true total.
MAX_EVENT_IDS = 1000

# Executed notebooks carry their results under these MIME types; reports read them back.
FINDINGS_MIME = "application/vnd.trailbook.findings+json"
EVIDENCE_MIME = "application/vnd.trailbook.evidence+json"
