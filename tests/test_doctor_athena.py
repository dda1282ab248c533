"""`trailbook athena doctor` on moto: every check passes on a good setup, and one broken setup per
check is caught with its message; its calls are reads (the oracle) that `trailbook policy athena`
grants; `athena ddl --accounts-from` closes the loop on what the doctor found in the bucket.

The good setup is what a user builds from the README: a trail bucket in CloudTrail's layout with
SSE-KMS objects, a workgroup with an encrypted result location, and the Glue table that Athena makes
from the statements `trailbook athena ddl` prints (parsed here from the printed text, as Athena
would). moto runs no SQL: the test query is answered by the local engine over the same records
(`AthenaFromLocal`). Stubber scripts what moto cannot refuse (a denied GetWorkGroup).
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import aws_oracle
import test_engine_athena
import test_engine_lake
from conftest import QUERY_FIXTURES
from test_engine_athena import BUCKET as RESULTS_BUCKET
from test_engine_athena import MOTO_ACCOUNT, AthenaFromLocal
from test_engine_lake import local_engine
from trailbook import aws
from trailbook.cli import main
from trailbook.doctor import athena as doctor

aws_env, moto_athena = test_engine_lake.aws_env, test_engine_athena.moto_athena  # shared fixtures

TRAIL = "trail-bucket"
A, B, C = "111122223333", "444455556666", "777788889999"
ORG = "o-a1b2c3d4e5"
TABLE_SQL = '"awsdatacatalog"."security"."cloudtrail"'
BASE = json.loads((QUERY_FIXTURES / "root_activity" / "match.json").read_text())[0]
OPTIONS = {"region": "us-east-1", "work_group": "security", "database": "security",
           "s3_staging_dir": f"s3://{RESULTS_BUCKET}/trailbook/", "poll_interval": 0.01}


def record(account: str, region: str, day: str, n: int) -> dict[str, Any]:
    rec = copy.deepcopy(BASE)
    rec.update(recipientAccountId=account, awsRegion=region, eventID=f"0000doct-{n:04d}-4000-8000-000000000000",
               eventTime=f"{day.replace('/', '-')}T10:{n % 60:02d}:00Z")
    return rec


def key_policy(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": list(principals)},
         "Action": "kms:*", "Resource": "*"}]})


class Setup:
    """The AWS side of a first Athena run, good by default; tests break one piece at a time."""

    def __init__(self, tmp_path: Path, capsys: Any) -> None:
        self.tmp, self.capsys = tmp_path, capsys
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.kms = boto3.client("kms", region_name="us-east-1")
        self.glue = boto3.client("glue", region_name="us-east-1")
        self.athena = boto3.client("athena", region_name="us-east-1")
        self.records: list[dict[str, Any]] = []
        self.key = self.kms.create_key(Policy=key_policy(f"arn:aws:iam::{MOTO_ACCOUNT}:root"))["KeyMetadata"]["Arn"]
        self.s3.create_bucket(Bucket=TRAIL)
        self.s3.put_bucket_encryption(Bucket=TRAIL, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.key}}]})
        self.put(A, "us-east-1", "2026/12/05")
        self.put(A, "eu-west-1", "2026/12/04")
        self.put(B, "us-east-1", "2026/12/05")
        self.workgroup()
        self.table()

    def put(self, account: str, region: str, day: str, org: str = "", events: int = 2, **encryption: Any) -> str:
        records = [record(account, region, day, len(self.records) + i) for i in range(events)]
        self.records += records
        key = (f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail/{region}/{day}/"
               f"{account}_CloudTrail_{region}_{day.replace('/', '')}T1005Z_{len(self.records):04d}.json.gz")
        sse = encryption or {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key}
        self.s3.put_object(Bucket=TRAIL, Key=key, Body=gzip.compress(json.dumps({"Records": records}).encode()), **sse)
        return key

    def workgroup(self, name: str = "security", output: bool = True, encrypted: bool = True,
                  enforce: bool = True) -> None:
        results: dict[str, Any] = {"OutputLocation": f"s3://{RESULTS_BUCKET}/wg/"} if output else {}
        if encrypted:
            results["EncryptionConfiguration"] = {"EncryptionOption": "SSE_KMS", "KmsKey": self.key}
        self.athena.create_work_group(Name=name, Configuration={"ResultConfiguration": results,
                                                                "EnforceWorkGroupConfiguration": enforce})

    def table(self, *ddl_args: str, retype: dict[str, str] | None = None) -> None:
        """Create security.cloudtrail as Athena would from `trailbook athena ddl`'s printed statements."""
        assert main(["athena", "ddl", "--bucket", TRAIL, "--database", "security", *ddl_args]) == 0
        text = self.capsys.readouterr().out
        create = text[text.index("CREATE EXTERNAL TABLE"):]
        lines = create[create.index("(\n") + 2:create.index("\n)\n")].splitlines()
        columns = [dict(zip(("Name", "Type"), line.strip().rstrip(",").split(" ", 1), strict=True)) for line in lines]
        for column in columns:  # Glue keeps Hive types lower case
            column["Type"] = (retype or {}).get(column["Name"], column["Type"].lower())
        partitions = re.search(r"PARTITIONED BY \((.*)\)", create).group(1).split(", ")
        try:
            self.glue.create_database(DatabaseInput={"Name": "security"})
        except self.glue.exceptions.AlreadyExistsException:
            self.glue.delete_table(DatabaseName="security", Name="cloudtrail")
        self.glue.create_table(DatabaseName="security", TableInput={
            "Name": "cloudtrail", "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": columns, "Location": re.search(r"LOCATION '([^']+)'", create).group(1)},
            "PartitionKeys": [{"Name": p.split()[0], "Type": p.split()[1].lower()} for p in partitions],
            "Parameters": dict(re.findall(r"'([^']+)'='([^']*)'", create))})

    def run(self, **options: Any) -> doctor.Report:
        fake = AthenaFromLocal(local_engine(self.records, self.tmp / f"local{len(list(self.tmp.iterdir()))}"),
                               TABLE_SQL)
        aws.add_session_hook(fake)
        try:
            return doctor.diagnose(**{**OPTIONS, **options})
        finally:
            aws.remove_session_hook(fake)


def lines(report: doctor.Report) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.line()) for c in report.checks}


@pytest.fixture
def setup(moto_athena, tmp_path, capsys) -> Setup:
    return Setup(tmp_path, capsys)


def test_a_good_setup_passes_every_check(setup):
    report = setup.run()
    found = lines(report)
    assert list(found) == ["credentials", "workgroup", "results", "table", "projection", "kms", "query"]
    assert {name: status for name, (status, _) in found.items()} == dict.fromkeys(found, "PASS"), report.lines()
    assert f"account {MOTO_ACCOUNT}" in found["credentials"][1] and "region us-east-1" in found["credentials"][1]
    assert f"s3://{RESULTS_BUCKET}/wg/" in found["workgroup"][1] and "SSE_KMS" in found["results"][1]
    assert "any account (injected)" in found["projection"][1] and "2 account(s)" in found["projection"][1]
    assert setup.key in found["kms"][1] and "aws:kms" in found["kms"][1]
    # The test query read the newest day of one account and region, and says what it scanned.
    assert report.found["query"]["rows"] == 1 and report.found["query"]["partition"] == f"{A}/eu-west-1/2026/12/04"
    assert "bytes scanned" in found["query"][1]
    assert report.found["listing"]["folders"] == {"": {A: ["eu-west-1", "us-east-1"], B: ["us-east-1"]}}
    assert report.exit_code == 0


def test_its_calls_are_reads_the_athena_policy_grants(setup):
    before = len(aws_oracle.calls)
    setup.run()
    made = set(aws_oracle.calls[before:])
    assert {("sts", "GetCallerIdentity"), ("athena", "GetWorkGroup"), ("glue", "GetTable"),
            ("s3", "ListObjectsV2"), ("s3", "HeadObject"), ("s3", "GetBucketEncryption"), ("kms", "DescribeKey"),
            ("kms", "GetKeyPolicy")} <= made
    assert aws_oracle.violations(sorted(made)) == []
    # Every call needs an IAM action in `trailbook policy athena` (GetCallerIdentity needs none).
    # Written out here from the AWS service authorization reference, not derived from trailbook.
    needs = {("athena", "GetWorkGroup"): "athena:GetWorkGroup", ("glue", "GetTable"): "glue:GetTable",
             ("s3", "ListObjectsV2"): "s3:ListBucket", ("s3", "HeadObject"): "s3:GetObject",
             ("s3", "GetObject"): "s3:GetObject", ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
             ("kms", "DescribeKey"): "kms:DescribeKey", ("kms", "GetKeyPolicy"): "kms:GetKeyPolicy",
             ("athena", "StartQueryExecution"): "athena:StartQueryExecution",
             ("athena", "GetQueryExecution"): "athena:GetQueryExecution",
             ("athena", "GetQueryResults"): "athena:GetQueryResults"}
    policy = aws.required_iam_policy("athena", kms_key_arns=[setup.key])
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    unknown = made - set(needs) - {("sts", "GetCallerIdentity")}
    assert not unknown, f"add {unknown} to this test's list"
    assert {needs[call] for call in made if call in needs} <= granted


# --- one broken setup per check ---------------------------------------------------------------

def test_no_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("TRAILBOOK_CONFIG", raising=False)
    report = doctor.diagnose(region="us-east-1")
    found = lines(report)
    assert found["credentials"][0] == "FAIL" and "no AWS credentials found" in found["credentials"][1]
    assert "fix: configure AWS credentials" in found["credentials"][1]
    assert {status for name, (status, _) in found.items() if name != "credentials"} == {"SKIP"}
    assert report.exit_code == 1


def test_no_region(aws_env, monkeypatch):
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/trailbook-doctor")
    found = lines(doctor.diagnose())
    assert found["credentials"][0] == "FAIL" and "need an AWS region" in found["credentials"][1]


def test_missing_workgroup(setup):
    found = lines(setup.run(work_group="nonexistent"))
    assert found["workgroup"][0] == "FAIL" and "workgroup nonexistent does not exist" in found["workgroup"][1]
    assert found["query"][0] == "SKIP"


def test_workgroup_without_a_result_location(setup):
    setup.workgroup("bare", output=False, encrypted=False, enforce=False)
    found = lines(setup.run(work_group="bare", s3_staging_dir=None))
    assert found["workgroup"][0] == "FAIL" and "no query result location" in found["workgroup"][1]
    assert "fix: set s3_staging_dir" in found["workgroup"][1]


def failing(service: str, method: str, code: str, message: str):
    """A session hook: the first `service` client of each session answers `method` with this AWS error."""
    def hook(session: Any, role: str) -> None:
        make = session.client

        def client(name: str, *args: Any, **kwargs: Any) -> Any:
            made = make(name, *args, **kwargs)
            if name == service:
                stub = Stubber(made)
                stub.add_client_error(method, code, message, 400)
                stub.activate()
            return made
        session.client = client
    return hook


def run_with(setup: Setup, hook: Any, **options: Any) -> dict[str, tuple[str, str]]:
    aws.add_session_hook(hook)
    try:
        return lines(setup.run(**options))
    finally:
        aws.remove_session_hook(hook)


def test_an_unknown_workgroup_as_athena_answers_it(setup):
    found = run_with(setup, failing("athena", "get_work_group", "InvalidRequestException",
                                    "WorkGroup nonexistent is not found."), work_group="nonexistent")
    assert found["workgroup"][0] == "FAIL" and "workgroup nonexistent does not exist" in found["workgroup"][1]


def test_a_denied_workgroup_names_the_action_and_the_policy(setup):
    found = run_with(setup, failing("athena", "get_work_group", "AccessDeniedException", "not authorized"))
    assert found["workgroup"][0] == "FAIL"
    assert "athena:GetWorkGroup was denied (AccessDeniedException)" in found["workgroup"][1]
    assert "fix: grant athena:GetWorkGroup: it is in `trailbook policy athena`" in found["workgroup"][1]


def test_unencrypted_results(setup):
    setup.workgroup("plain", encrypted=False)
    found = lines(setup.run(work_group="plain"))
    assert found["results"][0] == "WARN" and "sets no query result encryption" in found["results"][1]
    assert found["workgroup"][0] == "PASS"


def test_results_outside_an_enforced_workgroup_are_not_encrypted_by_athena(setup):
    setup.workgroup("loose", enforce=False)
    found = lines(setup.run(work_group="loose"))
    assert found["results"][0] == "WARN" and "without an Athena encryption option" in found["results"][1]


def test_missing_table(setup):
    setup.glue.delete_table(DatabaseName="security", Name="cloudtrail")
    found = lines(setup.run())
    assert found["table"][0] == "FAIL" and "security.cloudtrail does not exist" in found["table"][1]
    assert "fix: run the statements of `trailbook athena ddl" in found["table"][1]


def test_a_missing_table_with_bucket_still_lists_the_logs(setup):
    setup.glue.delete_table(DatabaseName="security", Name="cloudtrail")
    report = setup.run(bucket=f"s3://{TRAIL}")
    assert report.found["listing"]["folders"] == {"": {A: ["eu-west-1", "us-east-1"], B: ["us-east-1"]}}
    assert lines(report)["projection"][0] == "SKIP"


def test_a_column_of_another_type(setup):
    setup.table(retype={"useridentity": "string"})
    found = lines(setup.run())
    assert found["table"][0] == "FAIL" and "useridentity is string" in found["table"][1]


def test_accounts_not_projected(setup):
    setup.table("--accounts", A)
    found = lines(setup.run())
    assert found["projection"][0] == "FAIL"
    assert f"accounts with logs but not projected: {B}" in found["projection"][1]
    assert "--accounts-from" in found["projection"][1]


def test_the_test_query_aims_at_a_projected_partition(setup):
    setup.table("--accounts", B)
    report = setup.run()
    found = lines(report)
    assert found["projection"][0] == "FAIL" and f"not projected: {A}" in found["projection"][1]
    assert found["query"][0] == "PASS" and report.found["query"]["partition"] == f"{B}/us-east-1/2026/12/05"
    assert report.found["listing"]["newest"]["account"] == B


def test_regions_not_projected(setup):
    setup.table("--regions", "us-east-1")
    found = lines(setup.run())
    assert found["projection"][0] == "FAIL"
    assert "regions with logs but not projected: eu-west-1" in found["projection"][1]


def test_organization_folders_the_table_does_not_read(setup):
    setup.put(C, "us-east-1", "2026/12/01", org=ORG)
    found = lines(setup.run())
    assert found["projection"][0] == "WARN"
    assert f"logs the table does not read are under s3://{TRAIL}/AWSLogs/{ORG}/" in found["projection"][1]


def test_a_table_over_the_wrong_folder(setup):
    setup.table("--org-id", ORG)
    found = lines(setup.run())
    assert found["projection"][0] == "FAIL"
    assert f"no CloudTrail account folders under s3://{TRAIL}/AWSLogs/{ORG}/" in found["projection"][1]


def test_a_disabled_key(setup):
    setup.kms.disable_key(KeyId=setup.key.rsplit("/", 1)[1])  # moto takes the key id
    found = lines(setup.run())
    assert found["kms"][0] == "FAIL" and "which is Disabled" in found["kms"][1]


def test_a_key_policy_that_does_not_allow_the_caller(setup):
    other = setup.kms.create_key(Policy=key_policy(f"arn:aws:iam::{MOTO_ACCOUNT}:role/log-admin"))["KeyMetadata"]["Arn"]
    setup.put(A, "eu-west-1", "2026/12/06", ServerSideEncryption="aws:kms", SSEKMSKeyId=other)
    found = lines(setup.run())
    assert found["kms"][0] == "FAIL" and f"no statement allows kms:Decrypt to arn:aws:sts::{MOTO_ACCOUNT}" in \
        found["kms"][1]
    assert "fix: add a statement to" in found["kms"][1]


def test_a_test_query_that_reads_nothing(setup):
    key = setup.put(A, "eu-west-1", "2026/12/06", events=0)
    found = lines(setup.run())
    assert found["query"][0] == "FAIL"
    assert f"read no event of {A}/eu-west-1/2026/12/06 although s3://{TRAIL}/{key} is there" in found["query"][1]


# --- the command line and --accounts-from -----------------------------------------------------

def test_cli_exit_codes_and_json(setup, capsys):
    fake = AthenaFromLocal(local_engine(setup.records, setup.tmp / "cli"), TABLE_SQL)
    aws.add_session_hook(fake)
    try:
        args = ["athena", "doctor", "--region", "us-east-1", "--work-group", "security", "--database", "security"]
        setup_env = {"TRAILBOOK_ATHENA_S3_STAGING_DIR": OPTIONS["s3_staging_dir"],
                     "TRAILBOOK_ATHENA_POLL_INTERVAL": "0.01"}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in setup_env.items():
                patch.setenv(name, value)
            assert main(args) == 0
            out = capsys.readouterr().out.splitlines()
            assert [line.split()[0] for line in out] == ["PASS"] * 7
            assert main([*args, "--table", "absent"]) == 1
            absent = capsys.readouterr().out
            assert "FAIL  table" in absent
            assert main([*args, "--json"]) == 0
            document = json.loads(capsys.readouterr().out)
    finally:
        aws.remove_session_hook(fake)
    assert document["ok"] is True and [c["status"] for c in document["checks"]] == ["PASS"] * 7
    assert document["listing"]["bucket"] == TRAIL


def test_accounts_from_the_doctor_listing_fixes_the_projection(setup, capsys, tmp_path):
    setup.table("--accounts", A)
    report = setup.run()
    assert lines(report)["projection"][0] == "FAIL"
    listing = tmp_path / "listing.json"
    listing.write_text(json.dumps(report.to_json()))
    setup.table("--accounts-from", str(listing))
    assert lines(setup.run())["projection"][0] == "PASS"
    assert main(["athena", "ddl", "--bucket", TRAIL, "--accounts-from", str(listing)]) == 0
    assert f"'projection.account_partition.values'='{A},{B}'" in capsys.readouterr().out


def test_accounts_from_an_organization_listing_needs_the_org_id(setup, capsys, tmp_path):
    setup.put(C, "us-east-1", "2026/12/01", org=ORG)
    listing = tmp_path / "listing.json"
    listing.write_text(json.dumps(setup.run().to_json()))
    assert main(["athena", "ddl", "--bucket", TRAIL, "--accounts-from", str(listing), "--org-id", ORG]) == 0
    assert f"'projection.account_partition.values'='{C}'" in capsys.readouterr().out
    setup.s3.delete_objects(Bucket=TRAIL, Delete={"Objects": [{"Key": o["Key"]} for o in setup.s3.list_objects_v2(
        Bucket=TRAIL, Prefix="AWSLogs/1")["Contents"] + setup.s3.list_objects_v2(Bucket=TRAIL, Prefix="AWSLogs/4")[
        "Contents"]]})
    listing.write_text(json.dumps(setup.run(bucket=f"s3://{TRAIL}").to_json()))
    assert main(["athena", "ddl", "--bucket", TRAIL, "--accounts-from", str(listing)]) == 2
    assert "pass --org-id for an organization trail" in capsys.readouterr().err


@pytest.mark.parametrize("text,code,message", [
    ("111122223333\n# a comment\n444455556666  # another\n", 0, "'111122223333,444455556666'"),
    ("111122223333\nnot-an-account\n", 2, "not-an-account"),
    ('{"checks": []}', 2, "not a doctor listing"),
])
def test_accounts_from_a_file_of_ids(tmp_path, capsys, text, code, message):
    path = tmp_path / "accounts.txt"
    path.write_text(text)
    assert main(["athena", "ddl", "--bucket", TRAIL, "--accounts-from", str(path)]) == code
    captured = capsys.readouterr()
    assert message in (captured.out if code == 0 else captured.err)
