"""The IAM snapshot data the credential-hygiene tests share: a credential report (CSV written for these
tests from the documented 22-column format), access keys, posture, and virtual MFA devices for 1.6."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trailbook.iam.snapshot import AccountData, Snapshot, load_snapshot, write_snapshot

ACCOUNT = "444455556666"
COLLECTED = dt.datetime(2026, 10, 29, 6, 0, tzinfo=dt.timezone.utc)
HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
          "cert_2_active,cert_2_last_rotated")
A = f"arn:aws:iam::{ACCOUNT}"
ROWS = [
    # root: an active key, no MFA, password used yesterday
    f"<root_account>,{A}:root,2020-01-01T00:00:00+00:00,not_supported,2026-10-28T08:00:00+00:00,not_supported,not_supported,false,true,2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # console user without MFA, key created with the user and never used
    f"nomfa,{A}:user/nomfa,2026-10-20T10:00:00+00:00,true,2026-10-27T10:00:00+00:00,2026-10-20T10:00:00+00:00,N/A,false,true,2026-10-20T10:05:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # two active keys, one 400 days old and idle since April
    f"twokeys,{A}:user/twokeys,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2025-09-24T00:00:00+00:00,2026-04-12T00:00:00+00:00,us-east-1,s3,true,2026-10-01T00:00:00+00:00,2026-10-28T00:00:00+00:00,us-east-1,ec2,false,N/A,false,N/A",
    # console user with MFA whose password use is unknown to IAM
    f"quiet,{A}:user/quiet,2013-01-01T00:00:00+00:00,true,no_information,2013-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
]
KEYS = [
    {"UserName": "nomfa", "AccessKeyId": "AKIANOMFA00000000001", "Status": "Active", "CreateDate": "2026-10-20T10:05:00Z",
     "LastUsedDate": None, "LastUsedServiceName": "N/A", "LastUsedRegion": "N/A"},
    {"UserName": "twokeys", "AccessKeyId": "AKIATWOKEYS000000OLD", "Status": "Active", "CreateDate": "2025-09-24T00:00:00Z",
     "LastUsedDate": "2026-04-12T00:00:00Z", "LastUsedServiceName": "s3", "LastUsedRegion": "us-east-1"},
    {"UserName": "twokeys", "AccessKeyId": "AKIATWOKEYS000000NEW", "Status": "Active", "CreateDate": "2026-10-01T00:00:00Z",
     "LastUsedDate": "2026-10-28T00:00:00Z", "LastUsedServiceName": "ec2", "LastUsedRegion": "us-east-1"},
]
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
POSTURE = {
    "regions_in_use": ["us-east-1", "eu-west-1"],
    "trails": [{"Name": "main", "TrailARN": TRAIL, "IsMultiRegionTrail": True, "LogFileValidationEnabled": True, "HomeRegion": "us-east-1"}],
    "trail_status": {TRAIL: {"IsLogging": False}},
    "guardduty": {"us-east-1": {"DetectorIds": ["d1"], "detectors": {"d1": {"Status": "ENABLED"}}}},
    "s3_public_access_block": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True},
    "access_analyzers": [{"arn": "arn:aws:access-analyzer:us-east-1:444455556666:analyzer/a", "name": "a", "status": "ACTIVE"}],
    "access_analyzer_findings": [{"findingType": "UnusedIAMUserAccessKey", "resource": f"{A}:user/twokeys",
                                  "resourceType": "AWS::IAM::User", "status": "ACTIVE", "id": "f1"},
                                 {"findingType": "ExternalAccess", "resource": "arn:aws:s3:::shared",
                                  "resourceType": "AWS::S3::Bucket", "status": "ACTIVE", "id": "f2"}],
}


ROOT_WITH_MFA = ROWS[0].replace(",not_supported,false,true,", ",not_supported,true,true,")
ENABLED = "2025-02-03T04:05:06Z"
ROOT_VIRTUAL = {"SerialNumber": f"{A}:mfa/root-account-mfa-device", "EnableDate": ENABLED,
                "User": {"Arn": f"{A}:root", "UserId": ACCOUNT, "CreateDate": "2020-01-01T00:00:00Z"}}
USER_VIRTUAL = {"SerialNumber": f"{A}:mfa/quiet", "EnableDate": ENABLED,
                "User": {"Path": "/", "UserName": "quiet", "UserId": "AIDAQUIET000000000001", "Arn": f"{A}:user/quiet",
                         "CreateDate": "2013-01-01T00:00:00Z"}}
SPARE_VIRTUAL = {"SerialNumber": f"{A}:mfa/spare"}  # never assigned: no User


def write_test_snapshot(tmp_path: Path) -> Snapshot:
    """Account 444455556666 with everything above, and 777788889999 with nothing collected."""
    data = AccountData(credential_report_csv="\n".join([HEADER, *ROWS]) + "\n", access_keys=KEYS, posture=POSTURE,
                       authorization_details={"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []})
    empty = AccountData()  # nothing collected: every check must say unknown
    path = write_snapshot(tmp_path, {ACCOUNT: data, "777788889999": empty}, source="live", collected_at=COLLECTED,
                          errors=[{"account": "777788889999", "call": "GetCredentialReport", "message": "AccessDenied"}])
    return load_snapshot(path)
