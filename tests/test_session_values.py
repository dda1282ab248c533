"""Values from CloudTrail are data, not parameters: an incident followed through hostile events completes,
and the "what changed" table never prints a secret the events carried."""

from __future__ import annotations

import json

import pytest

from conftest import local_session
from trailbook import params as P
from trailbook.analyses import incident
from trailbook.session import FromEvents

ACCOUNT = "111122223333"
KEY = "AKIAQEXAMPLEKEY12345"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
SPACED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/evil role"  # no IAM role can have this name; an event can
BACKDOOR = f"arn:aws:iam::{ACCOUNT}:user/svc-backup"
# A secret key made up for this test, under an environment-variable name that does not say "secret".
LAMBDA_SECRET = "Zq3/kP9vXr2mT8sLw1Yb+Nc4Hd7Jf6Ga0Ue5Oi2R"
WINDOW = {"start": "2024-08-01T00:00:00Z", "end": "2024-08-02T00:00:00Z"}


def _event(n: int, name: str, source: str, *, who: str = ALICE, key: str | None = KEY, request=None,
           response=None, read_only: bool = False) -> dict:
    return {
        "eventVersion": "1.09", "eventTime": f"2024-08-01T10:{n:02d}:00Z",
        "eventID": f"00000000-0000-0000-0000-{n:012d}",
        "eventName": name, "eventSource": source, "awsRegion": "us-east-1", "eventType": "AwsApiCall",
        "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.0", "readOnly": read_only,
        "recipientAccountId": ACCOUNT, "requestParameters": request, "responseElements": response,
        "userIdentity": {"type": "IAMUser", "arn": who, "accountId": ACCOUNT, "accessKeyId": key,
                         "userName": who.rsplit("/", 1)[1]},
    }


RECORDS = [
    _event(1, "AssumeRole", "sts.amazonaws.com", request={"roleArn": SPACED_ROLE, "roleSessionName": "x"}),
    _event(2, "CreateUser", "iam.amazonaws.com", request={"userName": "svc-backup"},
           response={"user": {"arn": BACKDOOR, "userName": "svc-backup"}}),
    _event(3, "UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com",
           request={"functionName": "billing", "environment": {"variables": {"UPSTREAM_CREDS": LAMBDA_SECRET}}}),
    _event(4, "ListBuckets", "s3.amazonaws.com", who=BACKDOOR, key="AKIAQEXAMPLEBACKDOOR", read_only=True),
]


@pytest.fixture(scope="module")
def scoped(tmp_path_factory):
    session = local_session(RECORDS, tmp_path_factory.mktemp("incident"), **WINDOW)
    try:
        yield session, incident.scope(session, access_key_id=KEY)
    finally:
        session.close()


def test_a_role_arn_with_a_space_from_an_event_does_not_stop_the_incident(scoped):
    session, scope = scoped
    assert len(scope.timeline) == 3
    hop = [run for run in session.evidence if run.query == "key_activity"][-1]
    assert hop.set_aside == {"principal_arns": [SPACED_ROLE]}  # named, not queried
    assert BACKDOOR in hop.parameters["principal_arns"]  # the valid identity is still followed
    assert list(scope.spawned_activity["eventname"]) == ["ListBuckets"]


def test_what_changed_never_prints_a_secret_from_the_events(scoped):
    session, scope = scoped
    changes = scope.changes()
    assert "UpdateFunctionConfiguration20150331v2" in set(changes["eventname"])
    page = scope._repr_html_()
    assert LAMBDA_SECRET not in changes.to_json() and LAMBDA_SECRET not in page
    assert "[masked: secret]" in page
    assert any("UPSTREAM_CREDS" in hit.where for _, hit in session.masked)


def test_values_a_user_gives_are_still_checked(scoped):
    session, _ = scoped
    with pytest.raises(P.ParameterError):
        session.run("key_activity", principal_arns=[SPACED_ROLE])
    frame = session.run("key_activity", principal_arns=FromEvents([SPACED_ROLE]))
    assert frame.empty and frame.attrs["set_aside"] == {"principal_arns": [SPACED_ROLE]}
    json.dumps(session.evidence_records())  # the evidence stays plain data
