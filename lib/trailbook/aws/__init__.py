"""Everything trailbook asks of AWS, in one place: which calls it may make, the read-only guard
that enforces it, the IAM policy that allows it, the boto3 session, and the retry policy.

    aws.session("athena", region="eu-west-1", profile=None)   # guarded boto3 session
    aws.required_iam_policy("collect", role_name="ReadOnlyTrailbook")
"""

from __future__ import annotations

from .guard import ReadOnlyViolation, install_read_only_guard
from .operations import ALLOWED, DOCTOR_READS, QUERY_LIFECYCLE, REPORT_JOBS, allowed, doctor_role
from .policy import iam_action, required_iam_policy
from .retry import THROTTLING_CODES, Caller, Clock, RetryPolicy, SystemClock, backoff_delays, error_code, is_throttling
from .session import add_session_hook, remove_session_hook, session

__all__ = [
    "ALLOWED", "DOCTOR_READS", "QUERY_LIFECYCLE", "REPORT_JOBS", "THROTTLING_CODES", "Caller", "Clock",
    "ReadOnlyViolation", "RetryPolicy", "SystemClock", "add_session_hook", "allowed", "backoff_delays", "doctor_role",
    "error_code", "iam_action", "install_read_only_guard", "is_throttling", "remove_session_hook",
    "required_iam_policy", "session",
]
