"""The least-privilege IAM policy for each role, derived from the allow-lists in `operations`,
so the code and the documented policy cannot drift apart.

trailbook never changes an AWS account. The engines make read calls plus the query-lifecycle
calls a query engine cannot avoid (start a query, stop it). ``operations.ALLOWED`` is the
complete allow-list of botocore operations per engine; ``install_read_only_guard`` enforces
it on the boto3 session each engine creates, so an edit that adds any other call fails
loudly before a request is built. ``required_iam_policy`` derives the IAM policy from the
same data, so the code and the documented policy cannot drift apart.

Athena engine (``engine="athena"``)
-----------------------------------
API calls: ``athena:StartQueryExecution``, ``athena:GetQueryExecution``,
``athena:GetQueryResults``, ``athena:StopQueryExecution`` (timeout and Ctrl-C), and S3
``GetObject``/``HeadObject``/``ListObjectsV2`` to read result files. Athena itself reads
the table through the caller's permissions, so the policy also grants:

- ``glue:GetDatabase``, ``glue:GetTable``, ``glue:GetPartitions`` on the catalog, database and
  table (partition projection needs no partitions, but Athena still asks);
- ``s3:GetObject`` on the CloudTrail objects and ``s3:ListBucket``/``s3:GetBucketLocation``
  on the CloudTrail bucket;
- ``s3:PutObject``, ``s3:GetObject``, ``s3:ListBucket``, ``s3:GetBucketLocation``,
  ``s3:AbortMultipartUpload``, ``s3:ListMultipartUploadParts`` on the query-results location
  (Athena writes results as the caller);
- with SSE-KMS: ``kms:Decrypt`` on each key that encrypts the trail's objects (``kms_key_arns``;
  organization trails in a log-archive account usually have one), and ``kms:GenerateDataKey`` plus
  ``kms:Decrypt`` on the key of an SSE-KMS query-results location (``results_kms_key_arns``): S3
  needs GenerateDataKey to write an SSE-KMS object and Decrypt to read one. A key in another
  account (a log-archive account) must also allow the caller in its key policy.

Scope the workgroup ARN and the buckets with ``required_iam_policy("athena", region=...,
account_id=..., work_group=..., cloudtrail_bucket=..., results_bucket=...)``.

One-scan mode (opt-in, ``one_scan=True``; ``trailbook policy athena --one-scan``) adds what its
CTAS and DROP TABLE need, through Athena as the caller, and what its clean-up calls:
``glue:CreateTable``, ``glue:GetTable``, ``glue:DeleteTable``, ``glue:GetPartitions`` and, as the copy
is partitioned by day, ``glue:BatchCreatePartition`` and ``glue:BatchDeletePartition`` on the
database and on ``table/<database>/trailbook_scan_*`` only; ``s3:PutObject`` (the CTAS writes
Parquet under ``<results>/tables/<query id>/``) and ``s3:DeleteObject`` (trailbook deletes those
objects after the DROP, which leaves them) on the results bucket's objects. Without it the policy is
unchanged and grants no Glue or S3 deletion.

The doctors (``trailbook athena doctor``, ``lake doctor``)
----------------------------------------------------------
Each policy also grants its doctor's reads (``operations.DOCTOR_READS``) that the statements above
do not: ``athena:GetWorkGroup`` on the workgroup and ``s3:GetEncryptionConfiguration`` on the
CloudTrail bucket (athena), ``cloudtrail:GetEventDataStore`` on the event data store (lake), and,
for the keys given with ``kms_key_arns``, ``kms:DescribeKey`` and ``kms:GetKeyPolicy``. Without keys
there is no KMS statement, and the doctor says which key to name. ``sts:GetCallerIdentity`` needs no
permission.

CloudTrail Lake engine (``engine="lake"``)
------------------------------------------
API calls: ``cloudtrail:StartQuery``, ``cloudtrail:DescribeQuery``,
``cloudtrail:GetQueryResults``, ``cloudtrail:CancelQuery`` (timeout and Ctrl-C), on the event
data store's ARN. Nothing else: results are read through the API, not from S3. With a KMS key
on the event data store, ``kms:Decrypt`` and ``kms:GenerateDataKey`` on it (``kms_key_arns``;
CloudTrail's guide asks for "write access" to the key to query). The event data
store is given as its id (the ARN is built from ``region`` and ``account_id``) or as its ARN (used
as is).

Lake federation: Athena over Lake data
--------------------------------------
``EnableFederation`` on an event data store (done once by an administrator; trailbook never
calls it) registers the store in the Glue Data Catalog as database ``aws:cloudtrail``, table
``<event data store id>``, governed by Lake Formation. Athena can then query it at Athena's
price and without Lake's 10,000-character limit. The federated table keeps Lake's column
shapes (``eventtime`` a timestamp, the blobs maps, ``eventjson``), so point the *athena*
engine at it with the Lake layout, e.g. in the config file::

    athena:
      region: eu-west-1
      s3_staging_dir: s3://my-athena-results/trailbook/
      database: "aws:cloudtrail"
      table: <event data store id>
      layout: lake        # source = the Lake reshaping subquery over the federated table

Grant the Athena policy above (with ``database="aws:cloudtrail"``, ``table=<id>``) plus Lake
Formation ``SELECT`` on that table, and ``lakeformation:GetDataAccess``.

IAM collection (``trailbook collect iam``)
-----------------------------------------
``required_iam_policy("collect")``: statement ``TrailbookIamCollectReadOnly`` is what the collecting
identity needs in every account it reads (attach it to the read-only role in each member account,
or to the caller for a single account). ``Resource`` is ``*`` because these read actions either
support no resource-level permissions (GetAccountAuthorizationDetails, GenerateCredentialReport,
GetCredentialReport, ListVirtualMFADevices, ListDetectors, ListAnalyzers, DescribeTrails,
GetAccountPublicAccessBlock, DescribeOrganization, ListAccounts) or are called on every principal and policy. Actions:
iam:GetAccountAuthorizationDetails, iam:GenerateCredentialReport, iam:GetCredentialReport,
iam:GenerateServiceLastAccessedDetails, iam:GetServiceLastAccessedDetails, iam:ListAccessKeys,
iam:GetAccessKeyLastUsed, iam:ListVirtualMFADevices, cloudtrail:DescribeTrails,
cloudtrail:GetTrailStatus, guardduty:ListDetectors, guardduty:GetDetector,
s3:GetAccountPublicAccessBlock, access-analyzer:ListAnalyzers, access-analyzer:ListFindings (which
authorises ListFindingsV2), organizations:DescribeOrganization, organizations:ListAccounts (the
organization and its member accounts, which the exposure detections trust). With ``role_name``
(multi-account collection) a second statement, ``TrailbookAssumeCollectionRole``, grants the caller
``sts:AssumeRole`` on ``arn:aws:iam::*:role/<role_name>``; narrow ``*`` to your account ids if you can.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from .guard import ReadOnlyViolation
from .operations import ALLOWED, DOCTOR_READS, allowed, doctor_role

# IAM action prefixes differ from botocore service names for two services.
_IAM_PREFIX = {"s3control": "s3", "accessanalyzer": "access-analyzer"}
# Operations authorised by an IAM action of a different name (AWS API reference).
_IAM_ACTION_OVERRIDES = {
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    # "ListFindings and ListFindingsV2 both use access-analyzer:ListFindings".
    ("accessanalyzer", "ListFindingsV2"): "access-analyzer:ListFindings",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "DeleteObjects"): "s3:DeleteObject",  # one-scan's clean-up: each key needs DeleteObject
}
# "No permissions are required to perform this operation" (STS API reference).
_NO_PERMISSION = {("sts", "GetCallerIdentity")}
_EDS_ARN = re.compile(r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore/[A-Za-z0-9-]{3,128}$")
_EDS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,127}$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]{1,128}$")
# AssumeRole is needed by the caller (on the member-account roles), not by those roles.
_CALLER_ONLY = {("sts", "AssumeRole")}


def iam_action(service: str, operation: str, role: str = "collect") -> str:
    """The IAM action that authorises one allow-listed operation, e.g. ``iam:ListAccessKeys``."""
    if not allowed(role, service, operation):
        raise ReadOnlyViolation(f"{service}:{operation} is not an allow-listed operation of {role}")
    override = _IAM_ACTION_OVERRIDES.get((service, operation))
    return override or f"{_IAM_PREFIX.get(service, service)}:{operation}"


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _athena(region: str, account_id: str, work_group: str, database: str, table: str, cloudtrail_bucket: str,
            results_bucket: str) -> list[dict[str, Any]]:
    return [
        {"Sid": "TrailbookAthenaQueries", "Effect": "Allow",
         "Action": sorted(f"athena:{op}" for op in ALLOWED["athena"]["athena"]),
         "Resource": _arn("athena", region, account_id, f"workgroup/{work_group}")},
        {"Sid": "TrailbookGlueTable", "Effect": "Allow",
         "Action": ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"],
         "Resource": [_arn("glue", region, account_id, "catalog"),
                      _arn("glue", region, account_id, f"database/{database}"),
                      _arn("glue", region, account_id, f"table/{database}/{table}")]},
        {"Sid": "TrailbookReadCloudTrailLogs", "Effect": "Allow",
         "Action": ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{cloudtrail_bucket}", f"arn:aws:s3:::{cloudtrail_bucket}/*"]},
        {"Sid": "TrailbookAthenaResults", "Effect": "Allow",
         "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
                    "s3:ListMultipartUploadParts", "s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{results_bucket}", f"arn:aws:s3:::{results_bucket}/*"]},
    ]


ONE_SCAN_TABLES = "trailbook_scan_*"  # `engines.one_scan.TEMP_PREFIX` and 32 hex digits


def _one_scan(region: str, account_id: str, database: str, results_bucket: str) -> list[dict[str, Any]]:
    return [
        {"Sid": "TrailbookOneScanTemporaryTable", "Effect": "Allow",
         # The copy is partitioned by day (`engines.one_scan`): its CTAS registers the partitions in Glue
         # and DROP TABLE removes them; Glue grants partitions through their table's ARN.
         "Action": ["glue:BatchCreatePartition", "glue:BatchDeletePartition", "glue:CreateTable",
                    "glue:DeleteTable", "glue:GetPartitions", "glue:GetTable"],
         "Resource": [_arn("glue", region, account_id, "catalog"),
                      _arn("glue", region, account_id, f"database/{database}"),
                      _arn("glue", region, account_id, f"table/{database}/{ONE_SCAN_TABLES}")]},
        {"Sid": "TrailbookOneScanTemporaryData", "Effect": "Allow",
         "Action": ["s3:DeleteObject", "s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{results_bucket}/*"]},
    ]


def one_scan_notice(*, region: str = "*", account_id: str = "*", database: str = "*",
                    results_bucket: str = "*") -> list[str]:
    """What one-scan mode needs beyond the read-only policy, and why, as printed before it runs."""
    lines = ["one-scan mode (opt-in) writes: one CTAS materializes the window as Parquet, every detection reads it, "
             "then DROP TABLE and the deletion of the objects the CTAS wrote; it needs, beyond the read-only policy:"]
    for statement in _one_scan(region, account_id, database, results_bucket):
        resources = statement["Resource"]
        lines.append(f"  {', '.join(statement['Action'])} on {', '.join(resources)}")
    lines.append("  (the temporary table trailbook_scan_<hex> in the database, and its Parquet under the results "
                 "location's tables/<query id>/; `trailbook policy athena --one-scan` prints the policy)")
    return lines


def event_data_store_arn(event_data_store: str, region: str = "*", account_id: str = "*") -> str:
    """The event data store's ARN from its ARN (kept as is) or its id (built from region and account)."""
    given = str(event_data_store or "").strip()
    if given.startswith("arn:"):
        if not _EDS_ARN.match(given):
            raise UsageError(f"--event-data-store {given!r} is not an event data store ARN "
                             "(arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>)")
        _, _, _, arn_region, arn_account, _ = given.split(":", 5)
        for name, value, own in (("region", region, arn_region), ("account-id", account_id, arn_account)):
            if value not in ("*", own):
                raise UsageError(f"--{name} {value} disagrees with the event data store ARN's {own}")
        return given
    if given != "*" and not _EDS_ID.match(given):
        raise UsageError(f"--event-data-store {given!r} is not an event data store id or ARN")
    return _arn("cloudtrail", region, account_id, f"eventdatastore/{given}")


def _lake(region: str, account_id: str, event_data_store: str) -> list[dict[str, Any]]:
    return [{"Sid": "TrailbookLakeQueries", "Effect": "Allow",
             "Action": sorted(f"cloudtrail:{op}" for op in ALLOWED["lake"]["cloudtrail"]),
             "Resource": event_data_store_arn(event_data_store, region, account_id)}]


def _kms(role: str, kms_key_arns: Sequence[str], results_kms_key_arns: Sequence[str]) -> list[dict[str, Any]]:
    """Decrypt for the keys that encrypt what is read; GenerateDataKey too for a key that is written
    with (the results location's) and for a Lake event data store's key ("run queries on an event data
    store encrypted with a KMS key, you should have write access to the KMS key", CloudTrail guide)."""
    for key in [*kms_key_arns, *results_kms_key_arns]:
        if not _KMS_KEY_ARN.match(key):
            raise UsageError(f"{key!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>)")
    statements: list[dict[str, Any]] = []
    if kms_key_arns:
        actions = ["kms:Decrypt", "kms:GenerateDataKey"] if role == "lake" else ["kms:Decrypt"]
        statements.append({"Sid": "TrailbookDecryptLogs", "Effect": "Allow", "Action": actions,
                           "Resource": sorted(set(kms_key_arns))})
    if results_kms_key_arns:
        statements.append({"Sid": "TrailbookEncryptedResults", "Effect": "Allow",
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                           "Resource": sorted(set(results_kms_key_arns))})
    return statements


def _collect(role_name: str | None) -> list[dict[str, Any]]:
    actions = sorted(iam_action(service, operation) for service, operations in ALLOWED["collect"].items()
                     for operation in operations if (service, operation) not in _CALLER_ONLY)
    statements: list[dict[str, Any]] = [
        {"Sid": "TrailbookIamCollectReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}]
    if role_name is not None:
        statements.append({"Sid": "TrailbookAssumeCollectionRole", "Effect": "Allow", "Action": ["sts:AssumeRole"],
                           "Resource": f"arn:aws:iam::*:role/{role_name.strip('/')}"})
    return statements


def _doctor(role: str, granted: list[dict[str, Any]], resources: dict[str, Any]) -> list[dict[str, Any]]:
    """The doctor's reads that `granted` does not cover yet, one statement per service; a service with
    no resource to scope to (KMS without keys) gets none."""
    have = {action for statement in granted for action in statement["Action"]}
    needed: dict[str, set[str]] = {}
    for service, operations in DOCTOR_READS[role].items():
        for operation in operations:
            action = iam_action(service, operation, doctor_role(role))
            if (service, operation) not in _NO_PERMISSION and action not in have and resources.get(service):
                needed.setdefault(service, set()).add(action)
    return [{"Sid": f"TrailbookDoctor{service.capitalize()}", "Effect": "Allow", "Action": sorted(actions),
             "Resource": resources[service]} for service, actions in sorted(needed.items())]


def required_iam_policy(role: str, *, region: str = "*", account_id: str = "*", work_group: str = "*",
                        database: str = "*", table: str = "*", cloudtrail_bucket: str = "*",
                        results_bucket: str = "*", event_data_store: str = "*",
                        kms_key_arns: Sequence[str] = (), results_kms_key_arns: Sequence[str] = (),
                        role_name: str | None = None, one_scan: bool = False) -> dict[str, Any]:
    """The least-privilege IAM policy (a policy document) for `role`: athena, lake or collect.
    Narrow each "*" you can. `kms_key_arns`: keys to decrypt with (SSE-KMS trail objects);
    `results_kms_key_arns` (athena): the key of an SSE-KMS query-results location; `one_scan`
    (athena): add what the opt-in one-scan mode writes and deletes."""
    keys = sorted(set(kms_key_arns))
    if one_scan and role != "athena":
        raise UsageError("--one-scan is for the athena policy (the athena engine's one-scan mode)")
    if role == "athena":
        statements = _athena(region, account_id, work_group, database, table, cloudtrail_bucket, results_bucket)
        statements += _doctor(role, statements, {
            "athena": _arn("athena", region, account_id, f"workgroup/{work_group}"),
            "s3": f"arn:aws:s3:::{cloudtrail_bucket}", "kms": keys})
        if one_scan:
            statements += _one_scan(region, account_id, database, results_bucket)
    elif role == "lake":
        statements = _lake(region, account_id, event_data_store)
        statements += _doctor(role, statements, {"cloudtrail": statements[0]["Resource"], "kms": keys})
    elif role == "collect":
        statements = _collect(role_name)
    else:
        raise ValueError(f"no IAM policy for {role!r}; roles: {sorted(ALLOWED)}")
    if results_kms_key_arns and role != "athena":
        raise UsageError("--results-kms-key-arn is for the athena policy (its query-results location)")
    statements += _kms(role, kms_key_arns, results_kms_key_arns)
    return {"Version": "2012-10-17", "Statement": copy.deepcopy(statements)}
