"""The complete list of AWS calls trailbook makes, per role (an engine, or IAM collection).

Keyed by botocore service name (``client.meta.service_model.service_name``); values are botocore
operation names. Nothing here changes an account's configuration:

- Describe*/Get*/List* only read.
- Query lifecycle: ``athena:StartQueryExecution``/``StopQueryExecution`` and
  ``cloudtrail:StartQuery``/``CancelQuery`` start or stop a query; a query engine cannot avoid them.
- Report jobs: ``iam:GenerateCredentialReport`` and ``GenerateServiceLastAccessedDetails`` ask IAM
  to build a report (the credential report at most once per 4 hours, an Access Advisor job) that
  later Get* calls read. They create no resource and change no policy, principal or setting.
- ``sts:AssumeRole`` issues temporary credentials for the read-only collection role in each member
  account; it changes nothing in either account.
"""

from __future__ import annotations

from collections.abc import Mapping

ALLOWED: Mapping[str, Mapping[str, frozenset[str]]] = {
    "athena": {
        "athena": frozenset({"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution"}),
        "s3": frozenset({"GetObject", "HeadObject", "ListObjectsV2", "ListObjects"}),
    },
    "lake": {
        "cloudtrail": frozenset({"StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery"}),
    },
    "collect": {
        "iam": frozenset({
            "GetAccountAuthorizationDetails", "GenerateCredentialReport", "GetCredentialReport",
            "GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails", "ListAccessKeys",
            "GetAccessKeyLastUsed", "ListVirtualMFADevices",
        }),
        "sts": frozenset({"AssumeRole"}),
        "cloudtrail": frozenset({"DescribeTrails", "GetTrailStatus"}),
        "guardduty": frozenset({"ListDetectors", "GetDetector"}),
        "s3control": frozenset({"GetPublicAccessBlock"}),
        "accessanalyzer": frozenset({"ListAnalyzers", "ListFindingsV2"}),
    },
}
# The allowed calls that do more than read, by kind (see the module docstring).
QUERY_LIFECYCLE = frozenset({"StartQueryExecution", "StopQueryExecution", "StartQuery", "CancelQuery"})
REPORT_JOBS = frozenset({"GenerateCredentialReport", "GenerateServiceLastAccessedDetails"})


def allowed(role: str, service: str, operation: str) -> bool:
    """Whether `role` (athena, lake, collect) may call `service`:`operation` (botocore names)."""
    return operation in ALLOWED.get(role, {}).get(service, frozenset())
