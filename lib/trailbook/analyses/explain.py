"""What each Python-side check means, why it matters and what to do: the counterpart of the catalog
headers for the checks that are not SQL (the CIS credential checks, guardrail posture, unused
permissions, the country of sign-in). Titles, severities and MITRE ids stay in each check's own
table (`hygiene.cis_checks.CHECKS`, `hygiene.posture.POSTURE_DETECTIONS`, ...); this adds the words.

The CIS item numbers are those of the CIS Amazon Web Services Foundations Benchmark v3.0.0
(section 1, Identity and Access Management).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .hygiene.cis_checks import CHECKS
from .hygiene.posture import POSTURE_DETECTIONS
from .logins import COUNTRY_DETECTION, COUNTRY_MITRE
from .permissions.report import (
    DETECTION_INACTIVE,
    DETECTION_OVER_PRIVILEGED,
    MITRE_INACTIVE,
    MITRE_OVER_PRIVILEGED,
)

CIS_BENCHMARK = "CIS Amazon Web Services Foundations Benchmark v3.0.0"
IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"


@dataclass(frozen=True)
class CheckInfo:
    title: str
    description: str  # what a finding means and why it matters
    remediation: str
    remediation_docs: str
    mitre: tuple[str, ...]
    cis: str = ""  # "CIS ... v3.0.0 1.5" for a CIS item

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "mitre": list(self.mitre)}


# CIS item -> (meaning and why it matters, remediation, AWS documentation).
_CIS_WORDS: dict[str, tuple[str, str, str]] = {
    "1.4": ("The root user has an access key. Root cannot be limited by any policy, so a leaked root key is "
            "the whole account.",
            "Delete the root user's access keys (sign in as root, Security credentials); use IAM roles instead.",
            IAM + "id_root-user_manage_delete-key.html"),
    "1.5": ("The root user signs in with a password alone. Whoever learns or resets that password owns the "
            "account.",
            "Enable MFA for the root user, and keep the device where the account owner can reach it.",
            IAM + "enable-mfa-for-root.html"),
    "1.6": ("The root user's MFA is a virtual device (an app on a phone or laptop), not a hardware key that "
            "cannot be copied.",
            "Register a hardware MFA device (FIDO security key or hardware TOTP token) for the root user.",
            IAM + "enable-mfa-for-root.html"),
    "1.7": ("The root user was used recently. Daily work as root leaves no least-privilege boundary and is "
            "also what an attacker with the root password looks like.",
            "Confirm with the account owner who used root and why; use IAM roles for the task, and keep root "
            "for the few tasks that need it.",
            IAM + "id_root-user.html"),
    "1.10": ("An IAM user with a console password has no MFA: one phished or reused password is enough to sign in.",
             "Enable MFA for the user (or remove the console password if the user does not need the console).",
             IAM + "id_credentials_mfa_enable.html"),
    "1.11": ("An access key was created together with the user and never used: a credential nobody needs, "
             "waiting to leak.",
             "Delete the unused access key; create keys only when a workload needs one.",
             IAM + "id_credentials_access-keys.html"),
    "1.12": ("A password or access key has not been used for the inactivity period: an abandoned credential "
             "whose misuse nobody would notice.",
             "Deactivate the credential (and delete it after confirming nobody needs it).",
             IAM + "id_credentials_finding-unused.html"),
    "1.13": ("A user has two active access keys. Outside a short rotation, the second key is unaccounted for; "
             "it is also how attackers keep access (a key of their own on a user).",
             "Find which key the workload uses (last used), deactivate the other, and delete it after a quiet period.",
             IAM + "id_credentials_access-keys.html"),
    "1.14": ("An active access key is older than the rotation period: the longer a key lives, the more places "
             "it has been copied to.",
             "Rotate the key: create a second key, switch the workload to it, deactivate and delete the old one.",
             IAM + "id-credentials-access-keys-update.html"),
}

# posture check -> (meaning and why it matters, remediation, AWS documentation).
_POSTURE_WORDS: dict[str, tuple[str, str, str]] = {
    "cloudtrail_multi_region_logging": (
        "No logging multi-region trail with log file validation: API activity in some region, or all of it, "
        "is not recorded, and tampering with delivered logs would go unseen.",
        "Create or update a trail to be multi-region with log file validation on, and start logging.",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-create-and-update-a-trail.html"),
    "guardduty_all_regions": (
        "GuardDuty is not enabled in every region in use: threats in those regions raise no alert.",
        "Enable a GuardDuty detector in every region the account uses (or through the organization's "
        "delegated administrator).",
        "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html"),
    "s3_account_block_public_access": (
        "The account's S3 Block Public Access is not on for all four settings, so a bucket policy or ACL can "
        "make data public.",
        "Turn on all four account-level S3 Block Public Access settings.",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html"),
    "access_analyzer_exists": (
        "No IAM Access Analyzer: nothing continuously reports resources shared outside the account or "
        "organization.",
        "Create an analyzer (organization or account zone of trust) in each region in use.",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html"),
}
_POSTURE_TITLES = {
    "cloudtrail_multi_region_logging": "No logging multi-region CloudTrail trail with log file validation",
    "guardduty_all_regions": "GuardDuty not enabled in every region in use",
    "s3_account_block_public_access": "S3 Block Public Access not fully on for the account",
    "access_analyzer_exists": "No IAM Access Analyzer",
}


def _cis() -> dict[str, CheckInfo]:
    out = {}
    for cis_id, (detection, title, _severity, mitre) in CHECKS.items():
        meaning, remedy, docs = _CIS_WORDS[cis_id]
        out[detection] = CheckInfo(title, meaning, remedy, docs, tuple(mitre), cis=f"{CIS_BENCHMARK} {cis_id}")
    return out


def _posture() -> dict[str, CheckInfo]:
    out = {}
    for check, (detection, _severity, mitre) in POSTURE_DETECTIONS.items():
        meaning, remedy, docs = _POSTURE_WORDS[check]
        out[detection] = CheckInfo(_POSTURE_TITLES[check], meaning, remedy, docs, tuple(mitre))
    return out


def python_checks() -> dict[str, CheckInfo]:
    """Every Python-side check by detection name, explained."""
    return {
        **_cis(),
        **_posture(),
        DETECTION_OVER_PRIVILEGED: CheckInfo(
            "Principal granted far more than it uses",
            "The principal's policies grant services or actions it has not used in the unused-permissions "
            "period (IAM Access Advisor and CloudTrail). Every unused grant is access an attacker gets for free.",
            "Replace the policies with the suggested least-privilege policy after the owner confirms what the "
            "workload needs; for an identity an incident created, remove the identity instead.",
            IAM + "access_policies_last-accessed.html", tuple(MITRE_OVER_PRIVILEGED)),
        DETECTION_INACTIVE: CheckInfo(
            "Principal with permissions and no recent activity",
            "The principal has not been used for the inactivity period but keeps its permissions: a dormant "
            "identity is the quietest place for an attacker to live.",
            "Confirm with the owner, then remove the principal's credentials and permissions (or the principal).",
            IAM + "id_credentials_finding-unused.html", tuple(MITRE_INACTIVE)),
        COUNTRY_DETECTION: CheckInfo(
            "Console sign-in from a country outside the allowed list",
            "A successful console sign-in came from an IP address located in a country the organization does "
            "not work from (GeoIP): stolen credentials used from the attacker's location.",
            "Confirm with the user; if it was not them, reset the password, re-register MFA and revoke the "
            "user's sessions.",
            IAM + "id_credentials_passwords_admin-change-user.html", tuple(COUNTRY_MITRE)),
    }
