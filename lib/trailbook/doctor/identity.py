"""The first check of both doctors: a region, credentials from the standard chain, and who they are
(STS GetCallerIdentity, which needs no permission). Without them every other check is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import aws
from ..errors import UsageError
from .checks import FAIL, PASS, Report, one_line

CREDENTIALS_FIX = ("configure AWS credentials in the standard chain: AWS_PROFILE (or `profile` in the config "
                   "file), `aws sso login`, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance role")


@dataclass(frozen=True)
class Caller:
    session: Any  # boto3 session, guarded read-only for the doctor's role
    arn: str
    account: str
    region: str


def identify(report: Report, engine: str, settings: dict[str, Any], session: Any = None) -> Caller | None:
    """A `credentials` line; the caller when it passed."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

    try:
        made = aws.session(aws.doctor_role(engine), region=settings["region"], profile=settings["profile"],
                           base=session)
    except UsageError as error:
        report.add("credentials", FAIL, str(error), f"set region in the config file's {engine} section, or AWS_REGION")
        return None
    except ProfileNotFound as error:
        report.add("credentials", FAIL, one_line(error), "name a profile that exists in ~/.aws/config")
        return None
    try:
        who = made.client("sts").get_caller_identity()
    except NoCredentialsError:
        report.add("credentials", FAIL, "no AWS credentials found", CREDENTIALS_FIX)
        return None
    except (ClientError, BotoCoreError) as error:
        code = aws.error_code(error) or type(error).__name__
        report.add("credentials", FAIL, f"AWS refused the credentials ({code}): {one_line(error)}",
                   "refresh them (expired SSO or session credentials: `aws sso login`), or " + CREDENTIALS_FIX)
        return None
    caller = Caller(made, who["Arn"], who["Account"], made.region_name)
    report.add("credentials", PASS, f"{caller.arn} (account {caller.account}), region {caller.region}")
    return caller
