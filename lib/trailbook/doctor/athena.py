"""`trailbook athena doctor`: is this Athena setup ready for a report? Read-only, a few seconds, one
test query that scans one partition.

Checks, in order (each one line; see `checks`):

- credentials: region, credentials, who they are (`identity`);
- workgroup: exists and is enabled (GetWorkGroup), and queries have a result location (the
  workgroup's, enforced or not, or `s3_staging_dir`);
- results: how query results, which hold CloudTrail data, are encrypted;
- table: the Glue table exists (GetTable) with `schema`'s columns and types (as `ddl` writes them)
  and the partition columns;
- projection: partition projection is on, its `storage.location.template` is CloudTrail's layout,
  and its accounts and regions cover every account and region folder in the trail bucket
  (`bucket.list_logs`); folders the table does not read (another organization folder, or a
  trail's own) are named;
- kms: the trail bucket's default encryption (GetBucketEncryption) and the encryption of the newest
  log object (HeadObject); for SSE-KMS, the key is enabled and its policy lets the caller decrypt;
- query: `SELECT eventtime ... LIMIT 1` on the newest day of one account and region found in the
  bucket, through the athena engine: it must read at least one event, and reports what it scanned.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import ddl, schema
from ..aws import error_code
from ..engines import settings as S
from ..engines.athena import PRIMARY_WORK_GROUP
from ..engines.base import EngineError
from .bucket import Listing, aim, list_logs
from .checks import FAIL, PASS, SKIP, WARN, Report, guarded, one_line, refused
from .identity import Caller, identify
from .keys import check_key

POLICY = "trailbook policy athena"
_TEMPLATE = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]+)/(?:(?P<prefix>.*?)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?"
                       r"\$\{account_partition\}/CloudTrail/\$\{region_partition\}/\$\{date_partition\}/?$")
_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/?(?P<prefix>.*)$")


def _type(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).lower()  # Glue keeps Hive types lower case, without spaces


def diagnose(*, bucket: str | None = None, session: Any = None, **options: Any) -> Report:
    """Run every check. `options` are athena engine settings (`config_file`, `region`, `work_group`...);
    `bucket` (s3://bucket[/prefix]) is listed when the table is missing or does not name one."""
    report = Report("athena")
    settings = S.resolve("athena", options)
    caller = identify(report, "athena", settings, session)
    if caller is None:
        for name in ("workgroup", "results", "table", "projection", "kms", "query"):
            report.skip(name, "needs credentials")
        return report
    _workgroup(report, caller, settings)
    table = _table(report, caller, settings)
    listing = _projection(report, caller, table, bucket)
    if listing is not None:
        report.found["listing"] = listing.to_json()
    _encryption(report, caller, listing)
    _query(report, caller, settings, options, listing)
    return report


def _workgroup(report: Report, caller: Caller, settings: dict[str, Any]) -> None:
    name = settings["work_group"] or PRIMARY_WORK_GROUP
    try:
        got = caller.session.client("athena").get_work_group(WorkGroup=name)
    except (ClientError, BotoCoreError) as error:
        detail, fix = refused(error, "athena:GetWorkGroup", POLICY)
        if error_code(error) == "InvalidRequestException" and "not found" in str(error).lower():
            detail = f"workgroup {name} does not exist in region {caller.region}"
            fix = "set work_group to an existing workgroup, or leave it unset for primary"
        report.add("workgroup", FAIL, detail, fix)
        report.skip("results", "needs the workgroup")
        return
    group = got.get("WorkGroup", {})
    config = group.get("Configuration", {})
    results = config.get("ResultConfiguration", {})
    managed = config.get("ManagedQueryResultsConfiguration", {})
    enforced = bool(config.get("EnforceWorkGroupConfiguration"))
    staging = settings["s3_staging_dir"]
    if not group.get("Name"):  # (moto answers an unknown name with an empty workgroup)
        report.add("workgroup", FAIL, f"workgroup {name} does not exist in region {caller.region}",
                   "set work_group to an existing workgroup, or leave it unset for primary")
        report.skip("results", "needs the workgroup")
        return
    if group.get("State") != "ENABLED":
        report.add("workgroup", FAIL, f"workgroup {name} is {group.get('State')}: it runs no queries",
                   "enable it, or set work_group to an enabled workgroup")
    elif managed.get("Enabled") or results.get("OutputLocation") or staging:
        where = ("Athena managed query results" if managed.get("Enabled") else results.get("OutputLocation")) \
            if enforced or not staging else staging
        whose = "the workgroup's, enforced" if enforced else ("s3_staging_dir" if staging else "the workgroup's")
        report.add("workgroup", PASS, f"workgroup {name} is enabled; results go to {where} ({whose})")
    else:
        report.add("workgroup", FAIL, f"workgroup {name} has no query result location and s3_staging_dir is not set",
                   "set s3_staging_dir (s3://bucket/prefix/) in the config file's athena section or "
                   "TRAILBOOK_ATHENA_S3_STAGING_DIR, or give the workgroup an output location")
    if staging and not enforced:
        report.add("results", WARN, f"results are written to {staging} without an Athena encryption option: only "
                   "the bucket's default encryption applies (S3 encrypts new objects with SSE-S3 by default)",
                   f"set workgroup {name}'s query result encryption (SSE_KMS with your key) and enforce the "
                   "workgroup's settings")
        return
    encryption = (managed if managed.get("Enabled") else results).get("EncryptionConfiguration") or {}
    option = encryption.get("EncryptionOption") or ("SSE_KMS" if encryption.get("KmsKey") else None)
    if managed.get("Enabled") or option:
        key = encryption.get("KmsKey")
        report.add("results", PASS, f"query results are encrypted ({option or 'by Athena managed results'}"
                   + (f", key {key}" if key else "") + ")")
    else:
        report.add("results", WARN, f"workgroup {name} sets no query result encryption: only the bucket's default "
                   "encryption applies (S3 encrypts new objects with SSE-S3 by default)",
                   f"set workgroup {name}'s query result encryption (SSE_KMS with your key)")


def _table(report: Report, caller: Caller, settings: dict[str, Any]) -> dict[str, Any] | None:
    database, name = settings["database"], settings["table"]
    if settings["layout"] != "trail":
        report.skip("table", f"layout {settings['layout']}: a federated Lake table; check its event data store "
                    "with `trailbook lake doctor`")
        return None
    if settings["catalog"] != S.SETTINGS["athena"]["catalog"]:
        report.skip("table", f"catalog {settings['catalog']} is not the account's Glue Data Catalog")
        return None
    glue = caller.session.client("glue")
    try:
        table = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        report.add("table", FAIL, f"table {database}.{name} does not exist in region {caller.region}",
                   "run the statements of `trailbook athena ddl --bucket <trail bucket>` in Athena "
                   f"(with --database {database} --table {name})")
        return None
    except (ClientError, BotoCoreError) as error:  # denied, or any other refusal: one line
        detail, fix = refused(error, "glue:GetTable", POLICY)
        report.add("table", FAIL, detail, fix)
        return None
    storage = table.get("StorageDescriptor", {})
    have = {c["Name"].lower(): _type(c.get("Type", "")) for c in storage.get("Columns", [])}
    missing = [n for n, _ in ddl.columns() if n not in have]
    wrong = [n for n, t in ddl.columns() if n in have and have[n] != _type(t)]
    keys = {k["Name"].lower(): _type(k.get("Type", "")) for k in table.get("PartitionKeys", [])}
    partitions = [n for n in schema.PARTITION_NAMES if keys.get(n) != "string"]
    problems = ([f"missing columns {', '.join(missing)}"] if missing else []) + \
        ([f"columns of another type: {', '.join(f'{n} is {have[n]}' for n in wrong)}"] if wrong else []) + \
        ([f"partition columns not (string): {', '.join(partitions)}"] if partitions else [])
    if problems:
        report.add("table", FAIL, f"table {database}.{name}: {'; '.join(problems)}",
                   "recreate the table from `trailbook athena ddl` (DROP TABLE only drops the metadata, "
                   "never the logs)")
    else:
        report.add("table", PASS, f"table {database}.{name} has trailbook's {len(have)} columns and types and the "
                   f"{', '.join(schema.PARTITION_NAMES)} partitions")
    return table


def _location(table: dict[str, Any] | None, bucket: str | None) -> tuple[str, str, str] | str:
    """(bucket, prefix, org id) the table reads, or why there is none."""
    if table is not None:
        template = (table.get("Parameters") or {}).get("storage.location.template", "")
        found = _TEMPLATE.match(template)
        if not found:
            return f"storage.location.template {template!r} is not CloudTrail's layout"
        return found["bucket"], found["prefix"] or "", found["org"] or ""
    if bucket:
        given = _S3_URI.match(bucket if bucket.startswith("s3://") else f"s3://{bucket}")
        if given:
            return given["bucket"], given["prefix"].strip("/"), ""
    return "needs the table, or --bucket"


def _projection(report: Report, caller: Caller, table: dict[str, Any] | None, bucket: str | None) -> Listing | None:
    where = _location(table, bucket)
    if isinstance(where, str):
        if table is None:
            report.skip("projection", where)
        else:
            report.add("projection", FAIL, where, "recreate the table from `trailbook athena ddl`")
        return None
    name, prefix, org = where
    s3 = caller.session.client("s3")
    listing = guarded(report, "projection", "s3:ListBucket", POLICY,
                      lambda: list_logs(s3, name, prefix, prefer=(org, caller.account, caller.region)))
    if listing is None:
        return None
    read_here = listing.logs_prefix(org)
    others = [f"s3://{name}/{listing.logs_prefix(o)}" for o in listing.folders if o != org]
    unread = f"; logs the table does not read are under {', '.join(others)}" if others else ""
    other_fix = "make a table for each (`trailbook athena ddl --org-id ...`)" if others else ""
    present = listing.folders.get(org)
    if not present:
        report.add("projection", FAIL, f"no CloudTrail account folders under s3://{name}/{read_here}{unread}",
                   other_fix or "check the trail's bucket and prefix (`trailbook athena ddl --bucket s3://bucket/prefix`)")
        return listing
    if table is None:
        report.add("projection", SKIP, f"no table to compare; s3://{name}/{read_here} holds {len(present)} "
                   f"account(s) and {len({r for rs in present.values() for r in rs})} region(s){unread}")
        return listing
    params = table.get("Parameters") or {}
    problems = []
    if params.get("projection.enabled", "").lower() != "true":
        problems.append("partition projection is off (projection.enabled)")
    injected = params.get("projection.account_partition.type") == "injected"
    accounts = set(present) if injected else set(params.get("projection.account_partition.values", "").split(","))
    missing = sorted(set(present) - accounts)
    if missing:
        problems.append(f"accounts with logs but not projected: {', '.join(missing)}")
    projected = set(params.get("projection.region_partition.values", "").split(","))
    regions = sorted({r for rs in present.values() for r in rs} - projected)
    if regions:
        problems.append(f"regions with logs but not projected: {', '.join(regions)}")
    # Aim the test query at a partition the table projects, so it tests reading, not this check again.
    newest = listing.newest or {}
    if newest.get("account") not in accounts or newest.get("region") not in projected:
        covered = [(a, r) for a, rs in sorted(present.items()) for r in rs if a in accounts and r in projected]
        if covered:
            aim(s3, listing, org, *covered[0])
    if problems:
        report.add("projection", FAIL, "; ".join(problems) + f" (s3://{name}/{read_here}){unread}",
                   "regenerate the table: `trailbook athena doctor --json > listing.json`, then "
                   "`trailbook athena ddl --bucket ... --accounts-from listing.json` (regions default to all)")
    elif others:
        report.add("projection", WARN, f"covers the {len(present)} account(s) under s3://{name}/{read_here}{unread}",
                   other_fix)
    else:
        how = "any account (injected)" if params.get("projection.account_partition.type") == "injected" else \
            "every account"
        report.add("projection", PASS, f"covers {how} and every region with logs: {len(present)} account(s) "
                   f"under s3://{name}/{read_here}")
    return listing


def _encryption(report: Report, caller: Caller, listing: Listing | None) -> None:
    if listing is None or listing.newest is None:
        report.skip("kms", "needs a CloudTrail log object in the bucket")
        return
    s3 = caller.session.client("s3")
    default = ""
    try:
        rules = s3.get_bucket_encryption(Bucket=listing.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        by_default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        default = f"bucket default {by_default.get('SSEAlgorithm', 'none')}"
    except (ClientError, BotoCoreError) as error:  # informative only: the object's own headers are what counts
        default = f"bucket default unknown ({one_line(error_code(error) or error)})"
    key = listing.newest["key"]
    head = guarded(report, "kms", "s3:GetObject", POLICY, lambda: s3.head_object(Bucket=listing.bucket, Key=key))
    if head is None:
        return
    algorithm = head.get("ServerSideEncryption") or "none"
    what = f"s3://{listing.bucket}/{key} ({algorithm}; {default})"
    if not algorithm.startswith("aws:kms"):
        report.add("kms", PASS, f"{what}: no KMS key to decrypt with")
        return
    check_key(report, caller.session.client("kms"), head.get("SSEKMSKeyId", ""), caller.arn, caller.account,
              ("kms:Decrypt",), what, POLICY)


def _query(report: Report, caller: Caller, settings: dict[str, Any], options: dict[str, Any],
           listing: Listing | None) -> None:
    from ..engines.athena import AthenaEngine

    if report.status("workgroup") != PASS or report.status("table") == FAIL:
        report.skip("query", "needs the workgroup and the table")
        return
    if settings["layout"] == "trail" and (listing is None or listing.newest is None):
        report.skip("query", "needs a CloudTrail log object to aim at")
        return
    newest = listing.newest if listing and listing.newest else None
    if newest:
        day = dt.datetime.strptime(newest["day"], "%Y/%m/%d").replace(tzinfo=dt.timezone.utc)
        scope = {"accounts": [newest["account"]], "regions": [newest["region"]]}
    else:  # a federated Lake table: the last day
        day = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(1)
        scope = {}
    engine = None
    try:
        engine = AthenaEngine(session=caller.session, **scope, **options)
        parts = engine.fragments(day, day + dt.timedelta(days=1))
        frame, stats = engine.execute(f"SELECT eventtime FROM {parts['source']} WHERE {parts['time_filter']} LIMIT 1")
    except (EngineError, BotoCoreError, ClientError) as error:
        report.add("query", FAIL, f"the test query failed: {error}",
                   "see the lines above; with SSE-KMS logs, the caller needs kms:Decrypt on the key")
        return
    finally:
        if engine is not None:
            engine.close()
    where = f"{newest['account']}/{newest['region']}/{newest['day']}" if newest else f"{day:%Y/%m/%d}"
    cost = f"{stats.bytes_scanned or 0:,} bytes scanned" + (f", ${stats.cost_usd:.6f}" if stats.cost_usd else "")
    report.found["query"] = {"execution_id": stats.execution_id, "partition": where,
                             "bytes_scanned": stats.bytes_scanned, "cost_usd": stats.cost_usd, "rows": len(frame)}
    if len(frame):
        report.add("query", PASS, f"query {stats.execution_id} read an event of {where} ({cost})")
    elif newest and listing:
        report.add("query", FAIL, f"query {stats.execution_id} read no event of {where} although "
                   f"s3://{listing.bucket}/{newest['key']} is there ({cost})",
                   "the table's location or projection does not match the bucket: recreate it from "
                   "`trailbook athena ddl`")
    else:
        report.add("query", WARN, f"query {stats.execution_id} found no event on {where} ({cost})",
                   "check that the event data store still receives events")
