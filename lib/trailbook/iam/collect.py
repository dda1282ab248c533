"""Read-only collection of IAM data from live AWS accounts into a snapshot directory.

Per account (in this order, so asynchronous work overlaps):
1. GetAccountAuthorizationDetails (all pages, every entity type; policy documents decoded).
2. GenerateServiceLastAccessedDetails for every user, group, role and customer-managed policy.
3. GenerateCredentialReport until COMPLETE, then GetCredentialReport.
4. ListAccessKeys per user and GetAccessKeyLastUsed per key.
5. ListVirtualMFADevices (all pages), so root's MFA can be told hardware from virtual (CIS 1.6).
6. GetServiceLastAccessedDetails per job: poll, then every Marker page.
7. Guardrail posture (see ``trailbook.iam.posture``).

Credentials come from boto3's standard chain (environment, profiles, SSO, instance roles)
unless a session is passed. With ``accounts`` and ``role_name`` each account is read through
``arn:<partition>:iam::<account>:role/<role_name>`` assumed with sts:AssumeRole, the only STS
call made. Every session gets the read-only guard (``trailbook.aws``, role ``collect``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.exceptions import ClientError

from trailbook.aws import Caller, Clock, RetryPolicy, SystemClock, error_code, install_read_only_guard
from trailbook.iam.access_advisor import (
    GRANULARITIES,
    AccessAdvisorJob,
    Granularity,
    collect_job,
    entity_arns,
    regions_seen,
    start_job,
)
from trailbook.iam.context import AccountContext, CollectionIncomplete, Failed, describe_error
from trailbook.iam.credential_report import CredentialReportError, parse_credential_report
from trailbook.iam.posture import collect_posture, is_region_name
from trailbook.iam.snapshot import AccountData, SnapshotErrorEntry, validate_account_id, write_snapshot

__all__ = ["CollectSettings", "collect_snapshot"]

log = logging.getLogger(__name__)

AUTHORIZATION_DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
ALL_ENTITY_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
_ROLE_NAME = re.compile(r"[\w+=,.@-]+(/[\w+=,.@-]+)*")
_ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]+:iam::(\d{12}):")
# Returned only by CreateVirtualMFADevice in AWS (moto also lists them): the TOTP secret and
# its QR code. Never stored.
MFA_SECRET_FIELDS = ("Base32StringSeed", "QRCodePNG")


@dataclass(frozen=True)
class CollectSettings:
    """Timing and identity knobs of a collection; the defaults suit a real account."""

    poll_interval_s: float = 2.0
    job_timeout_s: float = 600.0  # per Access Advisor job, from when it was started
    report_timeout_s: float = 300.0  # credential report generation
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    role_session_name: str = "trailbook-iam-collect"
    role_duration_s: int = 3600


def collect_snapshot(
    out_dir: str | Path,
    *,
    session: boto3.Session | None = None,
    accounts: Sequence[str] | None = None,
    role_name: str | None = None,
    regions: Sequence[str] | None = None,
    granularity: Granularity = "ACTION_LEVEL",
    settings: CollectSettings | None = None,
    external_id: str | None = None,
    session_hook: Callable[[boto3.Session], None] | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> Path:
    """Collect IAM data and write ``out_dir/iam-<YYYY-MM-DDTHHMMSSZ>/``; return its path.

    - ``accounts=None``: the account of ``session``'s credentials (its id is read from the
      credential report / entity ARNs, since sts:GetCallerIdentity is not on the allow-list).
    - ``accounts=[id]`` without ``role_name``: the same, asserting the credentials are in ``id``.
    - ``accounts=[...]`` with ``role_name``: assume that role in each account.
    - ``regions``: regions for the regional posture calls; None derives the regions in use.
    - ``session_hook`` is called with every session used (the base one and each assumed
      one) before any client is created, e.g. to add botocore event handlers.
    - ``clock``/``rng`` replace real time and jitter (tests).
    Failed calls are recorded in the snapshot's ``errors``; only missing credentials,
    bad arguments and a read-only violation raise.
    """
    settings = settings or CollectSettings()
    clock = clock or SystemClock()
    rng = rng or random.Random()
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    account_list = _check_accounts(accounts, role_name)
    region_list = _check_regions(regions)

    collected_at = clock.now()  # the snapshot is named after when collection started
    base = session or boto3.Session()
    _prepare(base, session_hook)
    home_region = base.region_name or "us-east-1"
    caller = Caller(clock=clock, retry=settings.retry, rng=rng)
    errors: list[SnapshotErrorEntry] = []
    collected: dict[str, AccountData] = {}

    if role_name is None:
        expected = account_list[0] if account_list else None
        ctx = AccountContext(session=base, home_region=home_region, caller=caller)
        account_id, data = _AccountRun(ctx, settings, granularity, region_list, expected).run()
        collected[account_id] = data
        errors.extend(SnapshotErrorEntry(account_id, call, message) for call, message in ctx.problems)
    else:
        partition = base.get_partition_for_region(home_region)
        sts = AccountContext(session=base, home_region=home_region, caller=caller)
        for account in account_list:
            role_arn = f"arn:{partition}:iam::{account}:role/{role_name.strip('/')}"
            assumed = sts.attempt("AssumeRole", _assume, sts, role_arn, settings, external_id, context=role_arn)
            for call, message in sts.problems:
                errors.append(SnapshotErrorEntry(account, call, message))
            sts.problems.clear()
            if isinstance(assumed, Failed):
                continue  # nothing can be read from this account; the error says why
            member = boto3.Session(region_name=home_region, **assumed)
            _prepare(member, session_hook)
            ctx = AccountContext(session=member, home_region=home_region, caller=caller)
            account_id, data = _AccountRun(ctx, settings, granularity, region_list, account).run()
            collected[account_id] = data
            errors.extend(SnapshotErrorEntry(account_id, call, message) for call, message in ctx.problems)

    org_ctx = AccountContext(session=base, home_region=home_region, caller=caller)
    organization = _organization(org_ctx)
    home_account = next(iter(collected), "unknown")  # the organization calls are made with the base credentials
    errors.extend(SnapshotErrorEntry(home_account, call, message) for call, message in org_ctx.problems)
    return write_snapshot(out_dir, collected, source="live", collected_at=collected_at, errors=errors,
                          organization=organization)


def _organization(ctx: AccountContext) -> dict[str, Any] | None:
    """The organization and every account in it, for the exposure detections' trusted set.

    Any member may call DescribeOrganization; ListAccounts answers only in the management account or
    a delegated administrator, so elsewhere its AccessDenied is recorded and the organization id alone
    is kept (its accounts are then the snapshot's own).
    """
    org = ctx.client("organizations")
    try:
        described = ctx.caller.call(org, "DescribeOrganization")
    except ClientError as error:
        if error_code(error) != "AWSOrganizationsNotInUseException":  # a standalone account is not a failure
            ctx.record("DescribeOrganization", describe_error(error))
        return None
    accounts: list[str] = []
    params: dict[str, Any] = {}
    while True:
        page = ctx.attempt("ListAccounts", ctx.caller.call, org, "ListAccounts", **params)
        if isinstance(page, Failed):
            break
        accounts += [str(a["Id"]) for a in page.get("Accounts", [])]
        if not page.get("NextToken"):
            break
        params = {"NextToken": page["NextToken"]}
    return {"id": described["Organization"]["Id"], "accounts": accounts}


def _prepare(session: boto3.Session, hook: Callable[[boto3.Session], None] | None) -> None:
    install_read_only_guard(session, "collect")
    if hook is not None:
        hook(session)


def _check_accounts(accounts: Sequence[str] | None, role_name: str | None) -> list[str]:
    if isinstance(accounts, str):
        raise TypeError("accounts must be a list of account ids, not one string")
    account_list = [validate_account_id(a) for a in (accounts or [])]
    if len(set(account_list)) != len(account_list):
        raise ValueError(f"accounts lists an account twice: {account_list}")
    if accounts is not None and not account_list:
        raise ValueError("accounts is empty; pass None to collect the current account")
    if role_name is None:
        if len(account_list) > 1:
            raise ValueError("collecting several accounts needs role_name (the read-only role to assume in each)")
    else:
        if not account_list:
            raise ValueError("role_name was given without accounts to assume it in")
        if not _ROLE_NAME.fullmatch(role_name.strip("/")):
            raise ValueError(f"not a valid IAM role name: {role_name!r}")
    return account_list


def _check_regions(regions: Sequence[str] | None) -> list[str] | None:
    if regions is None:
        return None
    if isinstance(regions, str):
        raise TypeError("regions must be a list of region names, not one string")
    bad = [r for r in regions if not is_region_name(r)]
    if bad or not regions:
        raise ValueError(f"regions must be a non-empty list of AWS region names; bad: {bad}")
    return list(regions)


def _assume(
    ctx: AccountContext, role_arn: str, settings: CollectSettings, external_id: str | None
) -> dict[str, str]:
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": settings.role_session_name,
        "DurationSeconds": settings.role_duration_s,
    }
    if external_id is not None:
        params["ExternalId"] = external_id
    credentials = ctx.caller.call(ctx.client("sts"), "AssumeRole", **params)["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


class _AccountRun:
    """One account's collection; every failure is recorded in ``ctx.problems``."""

    def __init__(
        self,
        ctx: AccountContext,
        settings: CollectSettings,
        granularity: Granularity,
        regions: list[str] | None,
        expected_account: str | None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.granularity = granularity
        self.regions = regions
        self.expected_account = expected_account

    def run(self) -> tuple[str, AccountData]:
        ctx = self.ctx
        data = AccountData()
        details = ctx.attempt("GetAccountAuthorizationDetails", self._authorization_details)
        jobs: list[AccessAdvisorJob] = []
        if not isinstance(details, Failed):
            data.authorization_details = details
            jobs = self._start_jobs(details)
        else:
            for call in ("GenerateServiceLastAccessedDetails", "ListAccessKeys"):
                ctx.record(call, "skipped: the entity list (GetAccountAuthorizationDetails) was not available")

        report = ctx.attempt("GetCredentialReport", self._credential_report)
        report_regions: set[str] = set()
        if not isinstance(report, Failed):
            data.credential_report_csv, data.credential_report_info = report
            report_regions = self._report_regions(data.credential_report_csv)

        if not isinstance(details, Failed):
            data.access_keys = self._access_keys(details)
        devices = ctx.attempt("ListVirtualMFADevices", self._virtual_mfa_devices)
        if not isinstance(devices, Failed):
            data.virtual_mfa_devices = devices
        if not isinstance(details, Failed):
            data.service_last_accessed = self._collect_jobs(jobs)

        account_id = self._account_id(data)
        seen = report_regions | regions_seen((data.service_last_accessed or {}).values())
        seen |= {k["LastUsedRegion"] for k in data.access_keys or [] if is_region_name(k.get("LastUsedRegion"))}
        data.posture = collect_posture(ctx, account_id=account_id, regions=self.regions, regions_seen=seen)
        return account_id, data

    # 1. granted permissions -------------------------------------------------------------
    def _authorization_details(self) -> dict[str, list[Any]]:
        iam = self.ctx.client("iam")
        merged: dict[str, list[Any]] = {key: [] for key in AUTHORIZATION_DETAIL_KEYS}
        params: dict[str, Any] = {"Filter": ALL_ENTITY_FILTERS}
        while True:
            page = self.ctx.caller.call(iam, "GetAccountAuthorizationDetails", **params)
            for key in AUTHORIZATION_DETAIL_KEYS:
                merged[key].extend(page.get(key, []))
            if not page.get("IsTruncated"):
                break
            if not page.get("Marker"):
                raise CollectionIncomplete("GetAccountAuthorizationDetails: IsTruncated without a Marker")
            params["Marker"] = page["Marker"]
        self._decode_policy_documents(merged)
        return merged

    def _decode_policy_documents(self, details: dict[str, list[Any]]) -> None:
        """Make every policy document a JSON object (botocore usually has already)."""
        def fix(holder: dict[str, Any], key: str, where: str) -> None:
            if key in holder:
                holder[key] = self._document(holder[key], where)

        for kind, inline in (("UserDetailList", "UserPolicyList"), ("GroupDetailList", "GroupPolicyList"),
                             ("RoleDetailList", "RolePolicyList")):
            for entity in details[kind]:
                for policy in entity.get(inline, []) or []:
                    fix(policy, "PolicyDocument", f"{entity.get('Arn')} inline policy {policy.get('PolicyName')}")
                if kind == "RoleDetailList":
                    fix(entity, "AssumeRolePolicyDocument", f"{entity.get('Arn')} trust policy")
        for policy in details["Policies"]:
            for version in policy.get("PolicyVersionList", []) or []:
                fix(version, "Document", f"{policy.get('Arn')} version {version.get('VersionId')}")

    def _document(self, value: Any, where: str) -> Any:
        if not isinstance(value, str):
            return value
        for candidate in (unquote(value), value):
            try:
                return json.loads(candidate)
            except json.JSONDecodeError:
                continue
        # Keep AWS's text rather than drop it, and say so.
        self.ctx.record("GetAccountAuthorizationDetails", f"{where}: policy document is not JSON; kept as text")
        return value

    # 2 and 5. Access Advisor ------------------------------------------------------------
    def _start_jobs(self, details: dict[str, Any]) -> list[AccessAdvisorJob]:
        iam = self.ctx.client("iam")
        jobs = []
        for arn in entity_arns(details):
            job = self.ctx.attempt(
                "GenerateServiceLastAccessedDetails", start_job, self.ctx.caller, iam, arn, self.granularity,
                context=arn,
            )
            if not isinstance(job, Failed):
                jobs.append(job)
        return jobs

    def _collect_jobs(self, jobs: list[AccessAdvisorJob]) -> dict[str, Any]:
        iam = self.ctx.client("iam")
        results: dict[str, Any] = {}
        for job in jobs:
            outcome = self.ctx.attempt(
                "GetServiceLastAccessedDetails", collect_job, self.ctx.caller, iam, job,
                poll_interval_s=self.settings.poll_interval_s, timeout_s=self.settings.job_timeout_s,
                context=f"job {job.job_id} for {job.arn}",
            )
            if isinstance(outcome, Failed):
                continue
            if outcome.error is not None:
                self.ctx.record("GetServiceLastAccessedDetails", outcome.error)
            else:
                results[job.arn] = outcome.result
        return results

    # 3. credential report ---------------------------------------------------------------
    def _credential_report(self) -> tuple[str, dict[str, Any]]:
        iam, caller, clock = self.ctx.client("iam"), self.ctx.caller, self.ctx.caller.clock
        deadline = clock.monotonic() + self.settings.report_timeout_s
        state = caller.call(iam, "GenerateCredentialReport").get("State")
        while state != "COMPLETE":
            if clock.monotonic() >= deadline:
                waited = self.settings.report_timeout_s
                raise CollectionIncomplete(f"credential report still {state} after {waited:g} s")
            clock.sleep(self.settings.poll_interval_s)
            state = caller.call(iam, "GenerateCredentialReport").get("State")
        while True:
            try:
                response = caller.call(iam, "GetCredentialReport")
                break
            except ClientError as error:
                if error_code(error) != "ReportInProgress" or clock.monotonic() >= deadline:
                    raise
                clock.sleep(self.settings.poll_interval_s)
        content = response["Content"]
        text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
        info = {
            "GeneratedTime": response.get("GeneratedTime"),
            "ReportFormat": response.get("ReportFormat", "text/csv"),
        }
        return text, info

    def _report_regions(self, text: str) -> set[str]:
        try:
            frame = parse_credential_report(text)
        except CredentialReportError as error:
            # Stored as AWS returned it all the same; analyses will hit the same error.
            self.ctx.record("GetCredentialReport", f"report does not parse: {error}")
            return set()
        columns = ("access_key_1_last_used_region", "access_key_2_last_used_region")
        return {r for c in columns for r in frame[c].dropna() if is_region_name(r)}

    # 4. access keys ---------------------------------------------------------------------
    def _access_keys(self, details: dict[str, Any]) -> list[dict[str, Any]]:
        iam, ctx = self.ctx.client("iam"), self.ctx
        keys: list[dict[str, Any]] = []
        for user in details["UserDetailList"]:
            name = user["UserName"]
            listed = ctx.attempt("ListAccessKeys", self._list_keys, iam, name, context=f"user {name}")
            if isinstance(listed, Failed):
                continue
            for key in listed:
                last = ctx.attempt(
                    "GetAccessKeyLastUsed", ctx.caller.call, iam, "GetAccessKeyLastUsed",
                    AccessKeyId=key["AccessKeyId"], context=f"key {key['AccessKeyId']} of {name}",
                )
                # Never used: LastUsedDate null, ServiceName/Region "N/A" (AWS). Lookup failed:
                # all three null, and the failure is in the snapshot's errors.
                used = {} if isinstance(last, Failed) else last.get("AccessKeyLastUsed", {})
                keys.append({
                    "UserName": key.get("UserName", name),
                    "AccessKeyId": key["AccessKeyId"],
                    "Status": key.get("Status"),
                    "CreateDate": key.get("CreateDate"),
                    "LastUsedDate": used.get("LastUsedDate"),
                    "LastUsedServiceName": used.get("ServiceName"),
                    "LastUsedRegion": used.get("Region"),
                })
        return keys

    def _list_keys(self, iam: Any, user_name: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        params: dict[str, Any] = {"UserName": user_name}
        while True:
            page = self.ctx.caller.call(iam, "ListAccessKeys", **params)
            listed.extend(page.get("AccessKeyMetadata", []))
            if not page.get("IsTruncated"):
                return listed
            if not page.get("Marker"):
                raise CollectionIncomplete(f"ListAccessKeys for {user_name}: IsTruncated without a Marker")
            params["Marker"] = page["Marker"]

    # 5. virtual MFA devices --------------------------------------------------------------
    def _virtual_mfa_devices(self) -> list[dict[str, Any]]:
        """Every virtual MFA device, assigned or not (AssignmentStatus defaults to Any)."""
        iam = self.ctx.client("iam")
        devices: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            page = self.ctx.caller.call(iam, "ListVirtualMFADevices", **params)
            for device in page.get("VirtualMFADevices", []):
                devices.append({k: v for k, v in device.items() if k not in MFA_SECRET_FIELDS})
            if not page.get("IsTruncated"):
                return devices
            if not page.get("Marker"):
                raise CollectionIncomplete("ListVirtualMFADevices: IsTruncated without a Marker")
            params["Marker"] = page["Marker"]

    # account id -------------------------------------------------------------------------
    def _account_id(self, data: AccountData) -> str:
        """The account the data came from, read from ARNs (no sts:GetCallerIdentity)."""
        found = _accounts_in(data)
        if len(found) > 1:
            raise RuntimeError(f"collected data names several accounts {sorted(found)}; refusing to mix them")
        if self.expected_account is not None:
            if found and found != {self.expected_account}:
                raise RuntimeError(
                    f"credentials belong to account {found.pop()}, not the expected {self.expected_account}"
                )
            return self.expected_account
        if not found:
            problems = "; ".join(f"{c}: {m}" for c, m in self.ctx.problems) or "no IAM entities found"
            raise RuntimeError(f"could not tell which account was read ({problems}); pass accounts=[<id>]")
        return found.pop()


def _accounts_in(data: AccountData) -> set[str]:
    arns: list[str] = []
    if data.credential_report_csv:
        reader = csv.DictReader(io.StringIO(data.credential_report_csv))
        arns.extend(row.get("arn") or "" for row in reader)
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        arns.extend(item.get("Arn", "") for item in (data.authorization_details or {}).get(key, []))
    return {m.group(1) for arn in arns if (m := _ACCOUNT_IN_ARN.match(arn))}
