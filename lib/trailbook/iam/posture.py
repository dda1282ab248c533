"""Guardrail posture of one account: CloudTrail trails, GuardDuty, S3 Block Public Access, Access Analyzer.

Rule for posture.json: a key is present only when every call behind it succeeded; a failed
call is recorded in the snapshot's errors and its key (or region / trail / detector entry)
is left out. ``s3_public_access_block`` is ``null`` only when AWS answered
NoSuchPublicAccessBlockConfiguration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from trailbook.aws import error_code
from trailbook.iam.context import FAILED, AccountContext, Failed

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_ACTIVE_FINDINGS = {"status": {"eq": ["ACTIVE"]}}


def is_region_name(value: object) -> bool:
    """True for a string shaped like an AWS region name (e.g. ``eu-west-1``, ``us-gov-west-1``)."""
    return isinstance(value, str) and _REGION.fullmatch(value) is not None


def _pages(ctx: AccountContext, client: Any, operation: str, items: str, token: str, **params: Any) -> list[Any]:
    """All items of a NextToken-paginated operation (token name differs per service)."""
    collected: list[Any] = []
    while True:
        page = ctx.caller.call(client, operation, **params)
        collected.extend(page.get(items, []))
        if not page.get(token):
            return collected
        params[token] = page[token]


def collect_posture(
    ctx: AccountContext, *, account_id: str, regions: Iterable[str] | None, regions_seen: Iterable[str]
) -> dict[str, Any]:
    """Collect posture. ``regions`` fixes the regions to inspect; when None they are derived:
    the home region, the home regions of trails, and every region in ``regions_seen``
    (where credentials were used, per the credential report, access keys and Access Advisor).
    """
    posture: dict[str, Any] = {}
    in_use = _trails(ctx, posture, regions, regions_seen)
    posture["guardduty"] = {}
    for region in in_use:
        detectors = _guardduty(ctx, region)
        if not isinstance(detectors, Failed):
            posture["guardduty"][region] = detectors
    block = ctx.attempt("GetPublicAccessBlock", _public_access_block, ctx, account_id, context=f"account {account_id}")
    if not isinstance(block, Failed):
        posture["s3_public_access_block"] = block
    _access_analyzer(ctx, posture, in_use)
    return posture


def _trails(ctx: AccountContext, posture: dict[str, Any], regions: Iterable[str] | None,
            regions_seen: Iterable[str]) -> list[str]:
    """Trails and their status into ``posture``; returns the regions in use."""
    trails: dict[str, dict[str, Any]] = {}
    trails_complete = True

    def describe(region: str) -> None:
        nonlocal trails_complete
        found = ctx.attempt(
            "DescribeTrails", ctx.caller.call, ctx.client("cloudtrail", region), "DescribeTrails",
            includeShadowTrails=True, context=f"region {region}",
        )
        if isinstance(found, Failed):
            trails_complete = False
            return
        for trail in found.get("trailList", []):
            trails.setdefault(trail.get("TrailARN") or trail["Name"], trail)

    if regions is not None:
        in_use = sorted(set(regions))
        for region in in_use:
            describe(region)
    else:
        # A multi-region trail is listed in every region (as a shadow), so the home region
        # shows most trails; other regions add their single-region trails.
        describe(ctx.home_region)
        derived = {ctx.home_region} | set(regions_seen)
        derived |= {t["HomeRegion"] for t in trails.values() if t.get("HomeRegion")}
        in_use = sorted(r for r in derived if is_region_name(r))
        for region in in_use:
            if region != ctx.home_region:
                describe(region)
    posture["regions_in_use"] = in_use
    if trails_complete:
        posture["trails"] = list(trails.values())
        status: dict[str, Any] = {}
        for arn, trail in trails.items():
            region = trail.get("HomeRegion") or ctx.home_region
            got = ctx.attempt(
                "GetTrailStatus", ctx.caller.call, ctx.client("cloudtrail", region), "GetTrailStatus",
                Name=arn, context=f"trail {arn}",
            )
            if not isinstance(got, Failed):
                status[arn] = got
        posture["trail_status"] = status
    return in_use


def _access_analyzer(ctx: AccountContext, posture: dict[str, Any], in_use: list[str]) -> None:
    """Analyzers and their active findings into ``posture``, only when every call succeeded."""
    analyzers: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    analyzers_complete = findings_complete = True
    for region in in_use:
        client = ctx.client("accessanalyzer", region)
        found = ctx.attempt(
            "ListAnalyzers", _pages, ctx, client, "ListAnalyzers", "analyzers", "nextToken",
            context=f"region {region}",
        )
        if isinstance(found, Failed):
            analyzers_complete = False
            continue
        analyzers.extend(found)
        for analyzer in found:
            if analyzer.get("status") != "ACTIVE":
                continue  # CREATING/DISABLED/FAILED analyzers have no current findings
            active = ctx.attempt(
                "ListFindingsV2", _pages, ctx, client, "ListFindingsV2", "findings", "nextToken",
                analyzerArn=analyzer["arn"], filter=_ACTIVE_FINDINGS, context=f"analyzer {analyzer['arn']}",
            )
            if isinstance(active, Failed):
                findings_complete = False
            else:
                findings.extend(active)
    if analyzers_complete:
        posture["access_analyzers"] = analyzers
        if findings_complete:
            posture["access_analyzer_findings"] = findings


def _guardduty(ctx: AccountContext, region: str) -> Any:
    client = ctx.client("guardduty", region)
    ids = ctx.attempt(
        "ListDetectors", _pages, ctx, client, "ListDetectors", "DetectorIds", "NextToken",
        context=f"region {region}",
    )
    if isinstance(ids, Failed):
        return FAILED
    detectors: dict[str, Any] = {}
    for detector_id in ids:
        got = ctx.attempt(
            "GetDetector", ctx.caller.call, client, "GetDetector", DetectorId=detector_id,
            context=f"detector {detector_id} in {region}",
        )
        if not isinstance(got, Failed):
            detectors[detector_id] = got
    return {"DetectorIds": ids, "detectors": detectors}


def _public_access_block(ctx: AccountContext, account_id: str) -> dict[str, Any] | None:
    try:
        response = ctx.caller.call(ctx.client("s3control"), "GetPublicAccessBlock", AccountId=account_id)
    except ClientError as error:
        if error_code(error) == "NoSuchPublicAccessBlockConfiguration":
            return None  # the account has no account-level configuration: a fact, not a failure
        raise
    return response["PublicAccessBlockConfiguration"]
