"""The Athena CloudTrail table, with partition projection, generated from `schema.py`.

`trailbook athena ddl` prints this; it is never executed unless the user runs it. The output is
two statements, run one at a time (Athena runs one statement per query): `CREATE DATABASE IF NOT
EXISTS`, then the table. The columns are `schema.COLUMNS` in order (AWS's documented CloudTrail
table: ... tlsdetails, sessioncredentialfromconsole, eventcategory ...), so the local store and
Athena have the same schema and one SQL text runs on both. Partitions are projected, not crawled:
account, region and date come from the S3 key `AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/`
or, for an organization trail, `AWSLogs/<org-id>/<account>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/`.

Defaults that cannot miss data (Athena's partition projection types: enum, integer, date, injected):

- regions: an `enum` of every region of the `aws` partition in botocore's endpoint data, unless
  `regions` narrows it. A region left out is invisible, and unused regions are where attackers go.
- accounts: with `accounts` given, an `enum` of them (a new account is read only after the DDL is
  regenerated or the enum altered). Without, the account is `injected`: any account's folder is
  read without regenerating, but Athena then requires every query to name its accounts with static
  equality (`account_partition IN (...)`), else it fails with CONSTRAINT_VIOLATION. trailbook's
  account scope (the `accounts` parameter) gives exactly that predicate; the athena engine turns
  that failure into a one-line error saying to set it. An `integer` projection over all 12-digit
  ids would let unscoped queries enumerate 10^12 prefixes, so it is not offered.
  `accounts_from` reads the accounts from what is actually in the bucket: the listing of
  `trailbook athena doctor --json`, or a text file of ids.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path

from . import params as P
from . import schema
from .aws.regions import cloudtrail_regions
from .engines.settings import DEFAULT_ATHENA_DATABASE, DEFAULT_ATHENA_TABLE

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
_NAME = re.compile(r"^[a-z0-9_]{1,255}$")  # Glue database/table names are lower case
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")


class DdlError(ValueError):
    """An input to the DDL is not valid."""


def columns() -> list[tuple[str, str]]:
    """(name, Athena type) for every data column, in table order."""
    return [(name, schema.athena_type(typ)) for name, typ in schema.COLUMNS]


def _check(pattern: re.Pattern, value: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise DdlError(f"{what} {value!r} is not valid")
    return value


def logs_location(bucket: str, prefix: str = "", org_id: str | None = None) -> str:
    """s3://bucket/[prefix/]AWSLogs/[org-id/] — the folder that holds one folder per account."""
    _check(_BUCKET, bucket, "bucket")
    prefix = _check(_PREFIX, prefix or "", "prefix").strip("/")
    if org_id is not None:
        _check(_ORG_ID, org_id, "organization id")
    parts = [bucket] + ([prefix] if prefix else []) + ["AWSLogs"] + ([org_id] if org_id else [])
    return "s3://" + "/".join(parts) + "/"


def accounts_from(path: str | Path, org_id: str | None = None) -> list[str]:
    """The account ids of a doctor listing (`trailbook athena doctor --json`: the accounts with
    CloudTrail folders under AWSLogs/[<org-id>/]), or of a text file with one id a line (# comments)."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DdlError(f"--accounts-from {file}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if not text.lstrip().startswith("{"):
        ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        return P.coerce("list[account_id]", [i for i in ids if i], "accounts-from")
    try:
        folders = json.loads(text)["listing"]["folders"]
    except (ValueError, KeyError, TypeError):
        raise DdlError(f"--accounts-from {file}: not a doctor listing (trailbook athena doctor --json)") from None
    found = folders.get(org_id or "") if isinstance(folders, dict) else None
    if not found:
        where = ", ".join(f"AWSLogs/{k}/" if k else "AWSLogs/<account>/" for k in folders) or "nothing"
        wanted = f"AWSLogs/{org_id}/" if org_id else "AWSLogs/<account>/ (a trail's own folders)"
        hint = "; pass --org-id for an organization trail" if not org_id and any(folders) else ""
        raise DdlError(f"--accounts-from {file}: the listing has no accounts under {wanted}; it has {where}{hint}")
    return P.coerce("list[account_id]", sorted(found), "accounts-from")


def _first_day(start_date: str | dt.date | dt.datetime) -> str:
    if isinstance(start_date, (dt.date, dt.datetime)):
        return start_date.strftime("%Y/%m/%d")
    text = str(start_date).strip().replace("-", "/")
    try:
        return dt.datetime.strptime(text, "%Y/%m/%d").strftime("%Y/%m/%d")
    except ValueError:
        raise DdlError(f"start_date {start_date!r} is not a date like 2024/01/31") from None


def projection(accounts: Sequence[str], regions: Sequence[str], first_day: str) -> list[tuple[str, str]]:
    """The partition projection table properties (accounts empty: injected; regions empty: all)."""
    account_list = P.coerce("list[account_id]", accounts, "accounts")
    region_list = P.coerce("list[region]", regions, "regions") or cloudtrail_regions()
    account = ([("projection.account_partition.type", "enum"),
                ("projection.account_partition.values", ",".join(account_list))] if account_list
               else [("projection.account_partition.type", "injected")])
    return [
        ("projection.enabled", "true"), *account,
        ("projection.region_partition.type", "enum"),
        ("projection.region_partition.values", ",".join(region_list)),
        ("projection.date_partition.type", "date"),
        ("projection.date_partition.format", "yyyy/MM/dd"),
        ("projection.date_partition.range", f"{first_day},NOW"),
        ("projection.date_partition.interval", "1"),
        ("projection.date_partition.interval.unit", "DAYS"),
    ]


def cloudtrail_table_ddl(
    bucket: str,
    prefix: str = "",
    table: str = DEFAULT_ATHENA_TABLE,
    database: str = DEFAULT_ATHENA_DATABASE,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    org_id: str | None = None,
    start_date: str | dt.date | dt.datetime = "2020/01/01",
) -> str:
    """`CREATE DATABASE IF NOT EXISTS`, then `CREATE EXTERNAL TABLE` for CloudTrail logs in S3 with
    account/region/date partition projection (see the module docstring for the defaults).
    `start_date` is the first day projected."""
    _check(_NAME, table, "table")
    _check(_NAME, database, "database")
    properties = projection(accounts, regions, _first_day(start_date))
    location = logs_location(bucket, prefix, org_id)
    properties += [
        ("storage.location.template",
         location + "${account_partition}/CloudTrail/${region_partition}/${date_partition}"),
        ("classification", "cloudtrail"),
    ]
    column_lines = ",\n".join(f"  {name} {typ}" for name, typ in columns())
    partitions = ", ".join(f"{name} STRING" for name in schema.PARTITION_NAMES)
    props = ",\n".join(f"  '{key}'='{value}'" for key, value in properties)
    note = ("-- account_partition is injected: every query must name its accounts (trailbook's `accounts`).\n"
            if not accounts else "")
    return (
        "-- Run each statement on its own: Athena runs one statement per query.\n"
        f"CREATE DATABASE IF NOT EXISTS `{database}`;\n\n{note}"
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (\n{column_lines}\n)\n"
        f"COMMENT 'CloudTrail logs (trailbook schema), partition projection on account, region and day'\n"
        f"PARTITIONED BY ({partitions})\n"
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{location}'\n"
        f"TBLPROPERTIES (\n{props}\n);\n"
    )
