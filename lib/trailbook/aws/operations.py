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

The doctors (``trailbook athena doctor``, ``lake doctor``) make their engine's calls, to run one
test query, plus the reads in ``DOCTOR_READS`` that look at the setup around it.

The one exception is opt-in: the Athena engine's one-scan mode (``one_scan: true``) has its own
role, ``ONE_SCAN_ROLE``. Its CTAS and DROP TABLE are Athena queries (StartQueryExecution); after
the DROP it reads where the temporary table's data is (``glue:GetTable``, ``s3:ListObjectsV2``) and
deletes those objects (``s3:DeleteObjects``), which DROP TABLE leaves behind. A session of any other
role still refuses DeleteObjects.
"""

from __future__ import annotations

from collections.abc import Mapping

Operations = Mapping[str, frozenset[str]]  # botocore service name -> operation names

_ENGINES: Mapping[str, Operations] = {
    "athena": {
        "athena": frozenset({"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution"}),
        "s3": frozenset({"GetObject", "HeadObject", "ListObjectsV2", "ListObjects"}),
    },
    "lake": {
        "cloudtrail": frozenset({"StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery"}),
    },
}
# What each doctor reads besides its engine's calls: who is calling, the workgroup, the table, the
# trail bucket's folders, encryption and one object's headers, the KMS key; Lake's event data store.
DOCTOR_READS: Mapping[str, Operations] = {
    "athena": {
        "sts": frozenset({"GetCallerIdentity"}),
        "athena": frozenset({"GetWorkGroup"}),
        "glue": frozenset({"GetTable"}),
        "s3": frozenset({"ListObjectsV2", "HeadObject", "GetBucketEncryption"}),
        "kms": frozenset({"DescribeKey", "GetKeyPolicy"}),
    },
    "lake": {
        "sts": frozenset({"GetCallerIdentity"}),
        "cloudtrail": frozenset({"GetEventDataStore"}),
        "kms": frozenset({"DescribeKey", "GetKeyPolicy"}),
    },
}


# What one-scan mode adds to the athena engine's calls, to clean up what its CTAS wrote.
ONE_SCAN_ROLE = "athena-one-scan"
ONE_SCAN_CALLS: Operations = {
    "glue": frozenset({"GetTable"}),
    "s3": frozenset({"ListObjectsV2", "DeleteObjects"}),
}


def _union(*lists: Operations) -> Operations:
    return {service: frozenset().union(*(ops.get(service, frozenset()) for ops in lists))
            for service in sorted({service for ops in lists for service in ops})}


def doctor_role(engine: str) -> str:
    """The guard role of `engine`'s doctor (its session may make the engine's calls and the doctor's reads)."""
    return f"{engine}-doctor"


ALLOWED: Mapping[str, Mapping[str, frozenset[str]]] = {
    **_ENGINES,
    **{doctor_role(engine): _union(_ENGINES[engine], reads) for engine, reads in DOCTOR_READS.items()},
    ONE_SCAN_ROLE: _union(_ENGINES["athena"], ONE_SCAN_CALLS),
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
        # The organization and its accounts: who is "inside" for the exposure detections.
        "organizations": frozenset({"DescribeOrganization", "ListAccounts"}),
    },
}
# The allowed calls that do more than read, by kind (see the module docstring).
QUERY_LIFECYCLE = frozenset({"StartQueryExecution", "StopQueryExecution", "StartQuery", "CancelQuery"})
REPORT_JOBS = frozenset({"GenerateCredentialReport", "GenerateServiceLastAccessedDetails"})


def allowed(role: str, service: str, operation: str) -> bool:
    """Whether `role` (athena, lake, collect) may call `service`:`operation` (botocore names)."""
    return operation in ALLOWED.get(role, {}).get(service, frozenset())
