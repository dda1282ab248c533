"""IAM Access Advisor (service last accessed): fire one job per entity, then collect them all.

Jobs run asynchronously on AWS's side, so all of them are started first and collected
afterwards (prowler's and aardvark's pattern): the wait overlaps instead of adding up. Each job
has a deadline counted from when it was started; a FAILED or timed-out job is reported, not
raised, so one stuck entity does not cost the whole collection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from trailbook.aws import Caller

Granularity = Literal["ACTION_LEVEL", "SERVICE_LEVEL"]
GRANULARITIES: tuple[str, ...] = ("ACTION_LEVEL", "SERVICE_LEVEL")


@dataclass(frozen=True)
class AccessAdvisorJob:
    """A started GenerateServiceLastAccessedDetails job."""

    arn: str
    job_id: str
    started_at: float  # Clock.monotonic() when the job was started


@dataclass(frozen=True)
class JobOutcome:
    """A collected job: ``result`` (the snapshot entry) when COMPLETED, else ``error``."""

    job: AccessAdvisorJob
    result: dict[str, Any] | None = None
    error: str | None = None


def start_job(caller: Caller, iam: Any, arn: str, granularity: Granularity) -> AccessAdvisorJob:
    """Start one Access Advisor job for a user, group, role or managed policy ARN."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    response = caller.call(iam, "GenerateServiceLastAccessedDetails", Arn=arn, Granularity=granularity)
    return AccessAdvisorJob(arn=arn, job_id=response["JobId"], started_at=caller.clock.monotonic())


def collect_job(
    caller: Caller, iam: Any, job: AccessAdvisorJob, *, poll_interval_s: float, timeout_s: float
) -> JobOutcome:
    """Poll one job until it leaves IN_PROGRESS (or its deadline passes), then read every page."""
    deadline = job.started_at + timeout_s
    response = caller.call(iam, "GetServiceLastAccessedDetails", JobId=job.job_id)
    while response["JobStatus"] == "IN_PROGRESS":
        if caller.clock.monotonic() >= deadline:
            return JobOutcome(job, error=(
                f"job {job.job_id} for {job.arn} still IN_PROGRESS after {timeout_s:g} s; gave up"
            ))
        caller.clock.sleep(poll_interval_s)
        response = caller.call(iam, "GetServiceLastAccessedDetails", JobId=job.job_id)

    status = response["JobStatus"]
    if status != "COMPLETED":
        detail = response.get("Error") or {}
        reason = ": ".join(str(detail[k]) for k in ("Code", "Message") if detail.get(k)) or "no error detail"
        return JobOutcome(job, error=f"job {job.job_id} for {job.arn} ended {status}: {reason}")

    services = list(response["ServicesLastAccessed"])
    first = response
    while response.get("IsTruncated"):
        marker = response.get("Marker")
        if not marker:
            return JobOutcome(job, error=f"job {job.job_id} for {job.arn}: IsTruncated without a Marker")
        response = caller.call(iam, "GetServiceLastAccessedDetails", JobId=job.job_id, Marker=marker)
        services.extend(response["ServicesLastAccessed"])
    return JobOutcome(job, result={
        "JobId": job.job_id,
        "JobType": first.get("JobType"),
        "JobStatus": status,
        "JobCreationDate": first.get("JobCreationDate"),
        "JobCompletionDate": first.get("JobCompletionDate"),
        "ServicesLastAccessed": services,
    })


def entity_arns(authorization_details: dict[str, Any]) -> list[str]:
    """Every user, group, role and customer-managed policy ARN, in that order.

    AWS-managed policies (``arn:<partition>:iam::aws:policy/...``) are shared by every
    account, so their Access Advisor data says nothing about this account's principals.
    """
    arns: list[str] = []
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        arns.extend(item["Arn"] for item in authorization_details.get(key, []))
    arns.extend(
        policy["Arn"] for policy in authorization_details.get("Policies", [])
        if not is_aws_managed_policy(policy["Arn"])
    )
    return arns


def is_aws_managed_policy(arn: str) -> bool:
    """True for an AWS-managed policy ARN (account field ``aws``)."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws"


def regions_seen(results: Iterable[dict[str, Any]]) -> set[str]:
    """Regions named in Access Advisor results (last authenticated / last accessed)."""
    regions: set[str] = set()
    for result in results:
        for service in result.get("ServicesLastAccessed", []):
            if service.get("LastAuthenticatedRegion"):
                regions.add(service["LastAuthenticatedRegion"])
            for action in service.get("TrackedActionsLastAccessed", []) or []:
                if action.get("LastAccessedRegion"):
                    regions.add(action["LastAccessedRegion"])
    return regions
