"""CloudTrail record builders: the exact shapes AWS writes, key order included.

Sub-objects that repeat (userIdentity of one session, tlsDetails of one host) are built once
and shared between records: the records are serialized straight away and never mutated, so
sharing is safe and saves a deepcopy per event.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from . import ids
from .catalog import Api
from .window import aws_text_time, iso
from .world import Role, User

TLS_CIPHER = "TLS_AES_128_GCM_SHA256"
_TLS: dict[str, dict] = {}


def tls(host: str) -> dict:
    details = _TLS.get(host)
    if details is None:
        details = _TLS[host] = {"tlsVersion": "TLSv1.3", "cipherSuite": TLS_CIPHER, "clientProvidedHostHeader": host}
    return details


# --- userIdentity --------------------------------------------------------------------------------------

def iam_user_identity(user: User, key_id: str) -> dict:
    """An IAM user calling with a long-term (AKIA) key."""
    return {"type": "IAMUser", "principalId": user.user_id, "arn": user.arn, "accountId": user.account,
            "accessKeyId": key_id, "userName": user.name}


def console_user_identity(user: User, key_id: str, created: int, mfa: bool) -> dict:
    """An IAM user's console session (temporary ASIA credentials minted at sign-in)."""
    return {"type": "IAMUser", "principalId": user.user_id, "arn": user.arn, "accountId": user.account,
            "accessKeyId": key_id, "userName": user.name,
            "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                               "attributes": {"creationDate": iso(created),
                                              "mfaAuthenticated": "true" if mfa else "false"}}}


def role_session_identity(role: Role, session: str, key_id: str | None, created: int, *,
                          ec2: bool = False, invoked_by: str | None = None) -> dict:
    """An assumed-role session (ASIA key, sessionContext.sessionIssuer)."""
    identity: dict[str, Any] = {
        "type": "AssumedRole", "principalId": f"{role.role_id}:{session}",
        "arn": f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{session}", "accountId": role.account,
    }
    if key_id:
        identity["accessKeyId"] = key_id
    context: dict[str, Any] = {
        "sessionIssuer": {"type": "Role", "principalId": role.role_id, "arn": role.arn, "accountId": role.account,
                          "userName": role.name},
        "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"},
    }
    if ec2:
        context["ec2RoleDelivery"] = "2.0"
    identity["sessionContext"] = context
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def root_identity(account: str, key_id: str | None = None, created: int | None = None) -> dict:
    identity: dict[str, Any] = {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                                "accountId": account, "accessKeyId": key_id or ""}
    if created is not None:
        identity["sessionContext"] = {"attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"}}
    return identity


def service_identity(service: str) -> dict:
    return {"type": "AWSService", "invokedBy": service}


# --- errors --------------------------------------------------------------------------------------------

def denial(api: Api, caller_arn: str, region: str, account: str, resource: str | None = None) -> tuple[str, str]:
    """(errorCode, errorMessage) as the service writes an authorization failure."""
    action = f"{api.namespace}:{api.action or api.name}"
    if api.namespace == "ec2":
        blob = base64.urlsafe_b64encode(f"{caller_arn}|{action}|{region}".encode()).decode().rstrip("=")
        return ("Client.UnauthorizedOperation",
                f"You are not authorized to perform this operation. User: {caller_arn} is not authorized to perform: "
                f"{action} on resource: arn:aws:ec2:{region}:{account}:instance/* because no identity-based policy "
                f"allows the {action} action. Encoded authorization failure message: {blob}")
    if api.namespace == "s3":
        return "AccessDenied", "Access Denied"
    target = resource or ("*" if api.namespace != "iam" else f"arn:aws:iam::{account}:user/")
    return ("AccessDenied", f"User: {caller_arn} is not authorized to perform: {action} on resource: {target} "
                            f"because no identity-based policy allows the {action} action")


# --- records -------------------------------------------------------------------------------------------

def api_call(rng: random.Random, *, t: int, identity: dict, account: str, region: str, api: Api, ip: str, ua: str,
             params: dict | None, resources: list | None = None, response: Any = None,
             error: tuple[str, str] | None = None, console: bool = False, vpce: str | None = None,
             tls_details: dict | bool = True) -> dict:
    """One AwsApiCall record. `tls_details`: True derives them from the API's host, False omits
    them (AWS-internal callers), a dict is used as is (prebuilt by the caller for speed)."""
    s3 = api.namespace == "s3"
    rec: dict[str, Any] = {
        "eventVersion": api.version, "userIdentity": identity, "eventTime": iso(t), "eventSource": api.source,
        "eventName": api.name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": ua,
    }
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    rec["requestParameters"] = params
    rec["responseElements"] = None if error else response
    if s3:
        rec["additionalEventData"] = {
            "SignatureVersion": "SigV4", "CipherSuite": TLS_CIPHER, "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": base64.b64encode(rng.randbytes(57)).decode(),
            "bytesTransferredOut": 0 if error else 120 + rng.randrange(900),
        }
        rec["requestID"] = ids.s3_request_id(rng)
    else:
        rec["requestID"] = ids.uuid4(rng)
    rec["eventID"] = ids.uuid4(rng)
    rec["readOnly"] = api.read_only
    if resources:
        rec["resources"] = resources
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account
    if vpce:
        rec["vpcEndpointId"] = vpce
        rec["vpcEndpointAccountId"] = account
    rec["eventCategory"] = "Management"
    if tls_details is True:
        rec["tlsDetails"] = tls(api.host(region))
    elif tls_details:
        rec["tlsDetails"] = tls_details
    if console:
        rec["sessionCredentialFromConsole"] = "true"
    return rec


LOGIN_TO = "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_{state}"


def console_login(rng: random.Random, *, t: int, account: str, ip: str, ua: str, success: bool, mfa_used: bool,
                  user: User | None = None, user_name: str | None = None, root: bool = False) -> dict:
    """A ConsoleLogin record. Failures carry errorMessage and no userIdentity.arn.

    `user_name` without `user` is a name that is not an IAM user: AWS hides it.
    """
    if root:
        identity: dict[str, Any] = {"type": "Root", "principalId": account, "accountId": account, "accessKeyId": ""}
        if success:
            identity = {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                        "accountId": account, "accessKeyId": ""}
    elif user is not None:
        if success:
            identity = {"type": "IAMUser", "principalId": user.user_id, "arn": user.arn, "accountId": account,
                        "userName": user.name}
        else:
            identity = {"type": "IAMUser", "principalId": user.user_id, "accountId": account, "accessKeyId": "",
                        "userName": user.name}
    else:
        identity = {"type": "IAMUser", "accountId": account, "accessKeyId": "",
                    "userName": "HIDDEN_DUE_TO_SECURITY_REASONS" if user_name else ""}
    rec: dict[str, Any] = {
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": iso(t), "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": ua,
    }
    if not success:
        rec["errorMessage"] = "Failed authentication"
    rec["requestParameters"] = None
    rec["responseElements"] = {"ConsoleLogin": "Success" if success else "Failure"}
    extra = {"LoginTo": LOGIN_TO.format(state=f"{rng.getrandbits(64):016x}"), "MobileVersion": "No"}
    if mfa_used:
        extra["MFAIdentifier"] = (f"arn:aws:iam::{account}:mfa/root-account-mfa-device" if root
                                  else f"arn:aws:iam::{account}:mfa/{user.name if user else 'unknown'}")
    extra["MFAUsed"] = "Yes" if mfa_used else "No"
    rec["additionalEventData"] = extra
    rec["eventID"] = ids.uuid4(rng)
    rec["readOnly"] = False
    rec["eventType"] = "AwsConsoleSignIn"
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account
    rec["eventCategory"] = "Management"
    rec["tlsDetails"] = tls("us-east-1.signin.aws.amazon.com")
    return rec


def service_assume_role(rng: random.Random, *, t: int, account: str, region: str, role: Role, session: str,
                        service: str, key_id: str, duration: int = 3600) -> dict:
    """sts:AssumeRole made by an AWS service for a role it runs (EC2 instance profile, Lambda)."""
    return {
        "eventVersion": "1.09", "userIdentity": service_identity(service), "eventTime": iso(t),
        "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": region,
        "sourceIPAddress": service, "userAgent": service,
        "requestParameters": {"roleArn": role.arn, "roleSessionName": session},
        "responseElements": {"credentials": {"accessKeyId": key_id, "sessionToken": ids.token(rng),
                                             "expiration": aws_text_time(t + duration)}},
        "requestID": ids.uuid4(rng), "eventID": ids.uuid4(rng), "readOnly": True,
        "resources": [{"accountId": account, "type": "AWS::IAM::Role", "ARN": role.arn}],
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
        "sharedEventID": ids.uuid4(rng), "eventCategory": "Management",
    }


def secret_rotated(rng: random.Random, *, t: int, account: str, region: str, secret_arn: str) -> dict:
    """Secrets Manager's own AwsServiceEvent when a scheduled rotation completes."""
    return {
        "eventVersion": "1.09", "userIdentity": {"accountId": account, "invokedBy": "secretsmanager.amazonaws.com"},
        "eventTime": iso(t), "eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationSucceeded",
        "awsRegion": region, "sourceIPAddress": "secretsmanager.amazonaws.com",
        "userAgent": "secretsmanager.amazonaws.com",
        "requestParameters": None, "responseElements": None, "additionalEventData": {"SecretId": secret_arn},
        "requestID": ids.uuid4(rng), "eventID": ids.uuid4(rng), "readOnly": False,
        "eventType": "AwsServiceEvent", "managementEvent": True, "recipientAccountId": account,
        "eventCategory": "Management",
    }
