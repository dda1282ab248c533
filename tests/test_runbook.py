"""The incident runbook: the whole response (contain, remove persistence, restore guardrails, recover,
review) generated from findings, as AWS CLI commands trailbook prints and never runs.

The findings below are written by hand in the shared finding columns plus each detection's own columns
(as the catalog queries name them). Every expected command is written by hand from the AWS CLI
reference (docs.aws.amazon.com/cli/latest/reference: iam update-access-key, attach-user-policy,
put-role-policy, delete-access-key, delete-login-profile, detach-user-policy, delete-user-policy,
delete-user, update-assume-role-policy; s3api/s3control put-public-access-block; cloudtrail
start-logging, lookup-events; guardduty create-detector, update-detector; configservice
describe-configuration-recorder-status) and the IAM User Guide ("Revoke IAM role temporary security
credentials": the AWSRevokeOlderSessions deny on aws:TokenIssueTime; the AWSCompromisedKeyQuarantineV3
managed policy), never from the code under test.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import pytest

from trailbook.analyses import incident as IA

ACCOUNT = "111111111111"
LEAKED = "AKIALEAKEDLEAKED0001"
BACKDOOR_KEY = "AKIABACKDOOR00000001"
NOW = "2026-10-27T09:00:00Z"
BLOCK = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"


def _finding(detection: str, first_seen: str, owner: str = "ci-deploy", **own) -> dict:
    base = {"detection": detection, "severity": "high", "first_seen": first_seen, "last_seen": first_seen,
            "account_id": ACCOUNT, "region": "us-east-1", "principal_arn": f"arn:aws:iam::{ACCOUNT}:user/{owner}",
            "access_key_id": LEAKED, "source_ip": "203.0.113.66", "user_agent": "aws-cli/2", "event_names": [],
            "event_count": 1, "event_ids": [f"ev-{detection}-{first_seen}"], "mitre": []}
    return {**base, **own}


def leaked_key_story(created_user: str = "svc-backup", role: str = "deploy-role",
                     owner: str = "ci-deploy") -> list[dict]:
    return [{**f, "principal_arn": f["principal_arn"].replace("user/ci-deploy", f"user/{owner}")} for f in [
        _finding("key_new_source_ip", "2026-10-26T01:12:07Z"),
        _finding("iam_admin_policy_granted", "2026-10-26T01:44:10Z", event_names=["PutUserPolicy"],
                 target="ci-deploy", policies=["ci-deploy-ops"], grants_self=True),
        _finding("iam_user_created_then_privileged", "2026-10-26T01:52:30Z", created_user=created_user),
        _finding("iam_admin_policy_granted", "2026-10-26T01:53:11Z", event_names=["AttachUserPolicy"],
                 target=created_user, policies=["arn:aws:iam::aws:policy/AdministratorAccess"], grants_self=False),
        _finding("iam_access_key_created_for_other_user", "2026-10-26T01:54:02Z", event_names=["CreateAccessKey"],
                 target_users=[created_user], created_keys=[BACKDOOR_KEY]),
        _finding("iam_role_trust_backdoor", "2026-10-26T02:00:00Z", event_names=["UpdateAssumeRolePolicy"],
                 request_parameters=json.dumps({"roleName": role, "policyDocument": "{}"})),
        _finding("key_new_region", "2026-10-26T02:10:00Z", access_key_id="ASIASESSION000000001",
                 principal_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/data-pipeline/attacker"),
        _finding("resource_policy_external_access", "2026-10-26T03:05:12Z", event_names=["PutBucketPolicy"],
                 exposure="public", resource_type="s3_bucket", resource="acme-exports"),
        _finding("guardduty_disabled", "2026-10-26T03:09:40Z", event_names=["DeleteDetector"],
                 detectors=["66ef494579c65e82464d61db1398e7c9"]),
        _finding("guardduty_disabled", "2026-10-26T03:10:00Z", region="eu-west-1", event_names=["UpdateDetector"],
                 detectors=["12abc34d567e8fa901bc2d34e56789f0"]),
        _finding("cloudtrail_logging_disabled", "2026-10-26T03:14:22Z", event_names=["StopLogging"],
                 trails=[f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"]),
        _finding("config_recorder_stopped", "2026-10-26T03:15:00Z", event_names=["StopConfigurationRecorder"]),
        _finding("s3_block_public_access_removed", "2026-10-26T03:16:00Z",
                 event_names=["DeleteAccountPublicAccessBlock"], scopes=[f"account {ACCOUNT}"]),
    ]]


REVOKE = ('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],'
          '"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-10-27T09:00:00Z"}}}]}')
EXPECTED = {
    "Contain the keys and sessions": [
        f"aws iam update-access-key --user-name ci-deploy --access-key-id {LEAKED} --status Inactive",
        f"aws iam update-access-key --user-name svc-backup --access-key-id {BACKDOOR_KEY} --status Inactive",
        "aws iam attach-user-policy --user-name ci-deploy "
        "--policy-arn arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3",
        f"aws iam put-role-policy --role-name data-pipeline --policy-name AWSRevokeOlderSessions "
        f"--policy-document '{REVOKE}'",
    ],
    "Remove persistence": [
        f"aws iam delete-access-key --user-name svc-backup --access-key-id {BACKDOOR_KEY}",
        "aws iam delete-login-profile --user-name svc-backup",
        "aws iam detach-user-policy --user-name svc-backup --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        "aws iam delete-user --user-name svc-backup",
        "aws iam delete-user-policy --user-name ci-deploy --policy-name ci-deploy-ops",
        "aws iam update-assume-role-policy --role-name deploy-role "
        "--policy-document file://trust-policy-before-the-incident.json",
        f"aws s3api put-public-access-block --bucket acme-exports --public-access-block-configuration {BLOCK}",
    ],
    "Restore guardrails": [
        f"aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail "
        "--region us-east-1",
        "aws guardduty create-detector --enable --region us-east-1",
        "aws guardduty update-detector --detector-id 12abc34d567e8fa901bc2d34e56789f0 --enable --region eu-west-1",
        "aws configservice describe-configuration-recorder-status --region us-east-1",
        f"aws s3control put-public-access-block --account-id {ACCOUNT} --public-access-block-configuration {BLOCK}",
    ],
    "Recover: a new key for the legitimate owner": [
        "aws iam create-access-key --user-name ci-deploy",
        f"aws iam delete-access-key --user-name ci-deploy --access-key-id {LEAKED}",
    ],
    "Review": [
        f"aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={LEAKED} "
        "--max-results 50",
        f"aws iam get-access-key-last-used --access-key-id {LEAKED}",
    ],
}


def _phases(text: str) -> dict[str, list[list[str]]]:
    """Each phase's commands as the shell would split them (comments dropped)."""
    phases: dict[str, list[list[str]]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# ") and line[2:3].isdigit():
            current = line.split(". ", 1)[1]
            phases[current] = []
        elif current and line and not line.startswith("#"):
            phases[current].append(shlex.split(line, comments=True))
    return phases


def test_the_whole_response_is_generated_from_the_findings():
    text = IA.response_runbook(leaked_key_story(), keys={LEAKED: "ci-deploy"}, now=NOW)
    phases = _phases(text)
    assert list(phases) == list(EXPECTED)
    for phase, commands in EXPECTED.items():
        for command in commands:
            assert shlex.split(command) in phases[phase], f"{phase}: missing {command}\n{text}"
    # The legitimate owner keeps its user: it is quarantined, never deleted; the backdoor is never "recovered".
    everything = [c for cs in phases.values() for c in cs]
    assert ["aws", "iam", "delete-user", "--user-name", "ci-deploy"] not in everything
    assert ["aws", "iam", "create-access-key", "--user-name", "svc-backup"] not in everything


def test_nothing_is_invented_without_findings():
    text = IA.response_runbook([], keys={LEAKED: "ci-deploy"}, now=NOW)
    phases = _phases(text)
    assert phases["Remove persistence"] == [] and phases["Restore guardrails"] == []
    assert "# nothing found for this step" in text
    assert "guardduty" not in text and "cloudtrail start-logging" not in text


HOSTILE = "svc'; touch PWNED_A; echo \"$(touch PWNED_B)\" `touch PWNED_C`\ntouch PWNED_D #"
OWNER = "ci$(touch PWNED_E);'\n`touch PWNED_F`"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to run the runbook against stub commands")
def test_hostile_names_reach_the_command_as_one_argument(tmp_path):
    """A name from a hostile log (quotes, `;`, `$(...)`, backticks, a newline) stays one argument: the
    runbook is run by bash with `aws` and `git` replaced by stubs that record their arguments."""
    text = IA.response_runbook(leaked_key_story(created_user=HOSTILE, role=HOSTILE, owner=OWNER),
                               keys={LEAKED: OWNER}, now=NOW)
    script = tmp_path / "runbook.sh"
    script.write_text("aws() { printf '%s\\0' \"$@\" >> args.bin; printf '\\n\\0' >> args.bin; }\n"
                      "git() { :; }\n" + text + "\n", encoding="utf-8")
    subprocess.run(["bash", str(script)], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert not list(tmp_path.glob("PWNED*")), "a name from the log ran as a command"
    calls = [c.split("\0")[:-1] for c in (tmp_path / "args.bin").read_text(encoding="utf-8").split("\n\0") if c]
    named = [c for c in calls if HOSTILE in c or OWNER in c]
    assert ["iam", "delete-user", "--user-name", HOSTILE] in named
    assert ["iam", "update-access-key", "--user-name", OWNER, "--access-key-id", LEAKED,
            "--status", "Inactive"] in named
    assert ["iam", "attach-user-policy", "--user-name", OWNER, "--policy-arn",
            "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"] in named
    assert ["iam", "update-assume-role-policy", "--role-name", HOSTILE, "--policy-document",
            "file://trust-policy-before-the-incident.json"] in named
    # Every argument of every call is a value the runbook meant to pass, never a fragment of the name.
    assert not any("PWNED" in arg and arg not in (HOSTILE, OWNER) for call in calls for arg in call)


def test_hostile_names_never_break_out_of_a_comment():
    text = IA.response_runbook(leaked_key_story(created_user=HOSTILE), keys={LEAKED: "ci-deploy"}, now=NOW)
    for line in text.splitlines():
        if "PWNED_D" in line and not line.startswith("#"):
            # outside a comment the name only ever appears inside single quotes, continued from the line above
            assert line.startswith("touch PWNED_D #'"), line
