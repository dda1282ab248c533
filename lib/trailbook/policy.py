"""What the cloud engines may call, and the least-privilege IAM policy each one needs.

trailbook never changes an AWS account. The engines make read calls plus the query-lifecycle
calls a query engine cannot avoid (start a query, stop it). ``ENGINE_OPERATIONS`` is the
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
- ``kms:Decrypt`` on the trail's KMS key when the trail is SSE-KMS encrypted (add it yourself:
  ``required_iam_policy("athena", kms_key_arn=...)``).

Scope the workgroup ARN and the buckets with ``required_iam_policy("athena", region=...,
account_id=..., work_group=..., cloudtrail_bucket=..., results_bucket=...)``.

CloudTrail Lake engine (``engine="lake"``)
------------------------------------------
API calls: ``cloudtrail:StartQuery``, ``cloudtrail:DescribeQuery``,
``cloudtrail:GetQueryResults``, ``cloudtrail:CancelQuery`` (timeout and Ctrl-C), on the event
data store's ARN. Nothing else: results are read through the API, not from S3.

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
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# botocore service name -> operations, per engine. Query-lifecycle calls are the only ones that
# are not reads: they start or stop a query and change nothing in the account.
ENGINE_OPERATIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "athena": {
        "athena": frozenset({"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution"}),
        "s3": frozenset({"GetObject", "HeadObject", "ListObjectsV2", "ListObjects"}),
    },
    "lake": {
        "cloudtrail": frozenset({"StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery"}),
    },
}
# The allowed calls that are not reads (the exception list).
QUERY_LIFECYCLE = frozenset({"StartQueryExecution", "StopQueryExecution", "StartQuery", "CancelQuery"})

_GUARD_ID = "trailbook-engine-read-only-guard"


class ReadOnlyViolation(RuntimeError):
    """An engine was about to call an AWS operation outside its allow-list."""


def allowed(engine: str, service: str, operation: str) -> bool:
    return operation in ENGINE_OPERATIONS.get(engine, {}).get(service, frozenset())


def install_read_only_guard(session: Any, engine: str) -> None:
    """Make every client created from `session` refuse operations outside the engine's allow-list.

    The check runs on before-parameter-build, so a refused call never reaches AWS.
    """
    if engine not in ENGINE_OPERATIONS:
        raise ValueError(f"no allow-list for engine {engine!r}")

    def refuse_unlisted(model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if not allowed(engine, service, model.name):
            raise ReadOnlyViolation(
                f"refusing {service}:{model.name}: the {engine} engine only makes the calls in "
                f"policy.ENGINE_OPERATIONS[{engine!r}]"
            )

    session.events.register("before-parameter-build", refuse_unlisted, unique_id=f"{_GUARD_ID}-{engine}")


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def required_iam_policy(
    engine: str,
    *,
    region: str = "*",
    account_id: str = "*",
    work_group: str = "*",
    catalog: str = "*",
    database: str = "*",
    table: str = "*",
    cloudtrail_bucket: str = "*",
    results_bucket: str = "*",
    event_data_store: str = "*",
    kms_key_arn: str | None = None,
) -> dict[str, Any]:
    """The least-privilege IAM policy (a policy document) for one engine. Narrow each "*" you can."""
    statements: list[dict[str, Any]]
    if engine == "athena":
        catalog_arn = _arn("glue", region, account_id, "catalog")
        statements = [
            {"Sid": "TrailbookAthenaQueries", "Effect": "Allow",
             "Action": sorted(f"athena:{op}" for op in ENGINE_OPERATIONS["athena"]["athena"]),
             "Resource": _arn("athena", region, account_id, f"workgroup/{work_group}")},
            {"Sid": "TrailbookGlueTable", "Effect": "Allow",
             "Action": ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"],
             "Resource": [catalog_arn, _arn("glue", region, account_id, f"database/{database}"),
                          _arn("glue", region, account_id, f"table/{database}/{table}")]},
            {"Sid": "TrailbookReadCloudTrailLogs", "Effect": "Allow",
             "Action": ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{cloudtrail_bucket}", f"arn:aws:s3:::{cloudtrail_bucket}/*"]},
            {"Sid": "TrailbookAthenaResults", "Effect": "Allow",
             "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
                        "s3:ListMultipartUploadParts", "s3:PutObject"],
             "Resource": [f"arn:aws:s3:::{results_bucket}", f"arn:aws:s3:::{results_bucket}/*"]},
        ]
        del catalog  # Athena's data catalog name is not part of the Glue ARN
    elif engine == "lake":
        statements = [
            {"Sid": "TrailbookLakeQueries", "Effect": "Allow",
             "Action": sorted(f"cloudtrail:{op}" for op in ENGINE_OPERATIONS["lake"]["cloudtrail"]),
             "Resource": _arn("cloudtrail", region, account_id, f"eventdatastore/{event_data_store}")},
        ]
    else:
        raise ValueError(f"no IAM policy for engine {engine!r}; cloud engines: {sorted(ENGINE_OPERATIONS)}")
    if kms_key_arn:
        statements.append({"Sid": "TrailbookDecryptLogs", "Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": kms_key_arn})
    return {"Version": "2012-10-17", "Statement": copy.deepcopy(statements)}
