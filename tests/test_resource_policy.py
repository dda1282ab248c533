"""resource_policy: who outside the organization a policy or grant lets in.

Two oracles: Panther's AWS.CloudTrail.ResourceMadePublic rule tests (its verdict on "made
public", on real and hand-edited CloudTrail events), and cases written from IAM's policy grammar
and the issue's list, each with its expected level stated by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trailbook import resource_policy as R

OWN, OTHER, OWN2 = "111122223333", "444455556666", "777788889999"
OWN_ORG, OTHER_ORG = "o-ownorg1234", "o-otherorg567"
TRUST = R.Trust.of([OWN, OWN2], [OWN_ORG])
PANTHER = Path(__file__).parent / "fixtures" / "panther_resource_made_public.jsonl"


def _panther_cases():
    for line in PANTHER.read_text().splitlines():
        case = json.loads(line)
        yield pytest.param(case, id=case["test_name"])


@pytest.mark.parametrize("case", list(_panther_cases()))
def test_public_agrees_with_panther(case):
    event = case["log"]
    if event.get("errorCode"):
        pytest.skip("failed calls are dropped by the detection's SQL (errorcode IS NULL), not here")
    own = {event.get("recipientAccountId"), (event.get("userIdentity") or {}).get("accountId")} - {None}
    _, _, grants = R.grants_of_event(event["eventSource"], event["eventName"], event.get("requestParameters"),
                                     R.Trust.of(own))
    assert (R.worst(grants) == R.PUBLIC) is case["expected_result"], [g.to_dict() for g in grants]


def test_panther_fixture_is_complete():
    assert sum(1 for _ in _panther_cases()) == 14


def policy(principal=None, condition=None, effect="Allow", not_principal=None, action="s3:GetObject"):
    statement = {"Effect": effect, "Action": action, "Resource": "*"}
    if principal is not None:
        statement["Principal"] = principal
    if not_principal is not None:
        statement["NotPrincipal"] = not_principal
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


CASES = {
    # principal forms
    "star string": (policy("*"), R.PUBLIC),
    "star in AWS map": (policy({"AWS": "*"}), R.PUBLIC),
    "star in AWS list": (policy({"AWS": [f"arn:aws:iam::{OWN}:root", "*"]}), R.PUBLIC),
    "foreign account id": (policy({"AWS": OTHER}), R.EXTERNAL),
    "foreign account root ARN": (policy({"AWS": f"arn:aws:iam::{OTHER}:root"}), R.EXTERNAL),
    "foreign role ARN": (policy({"AWS": [f"arn:aws:iam::{OTHER}:role/x"]}), R.EXTERNAL),
    "own account": (policy({"AWS": f"arn:aws:iam::{OWN}:root"}), None),
    "second own account": (policy({"AWS": OWN2}), None),
    "unique id of a deleted principal": (policy({"AWS": "AROAEXAMPLEID1234567"}), R.UNVERIFIED),
    # service principals
    "service, no condition": (policy({"Service": "cloudtrail.amazonaws.com"}), None),
    "service, own SourceAccount": (
        policy({"Service": "logs.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": OWN}}), None),
    "service, foreign SourceAccount": (
        policy({"Service": "logs.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": OTHER}}), R.EXTERNAL),
    "not a service principal": (policy({"Service": "evil.example.com"}), R.EXTERNAL),
    # conditions that limit "*"
    "star, own org": (policy("*", {"StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}), None),
    "star, foreign org": (policy("*", {"StringEquals": {"aws:PrincipalOrgID": OTHER_ORG}}), R.EXTERNAL),
    "star, own org path": (
        policy("*", {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{OWN_ORG}/r-ab12/*"]}}), None),
    "star, own SourceAccount": (policy("*", {"StringEquals": {"aws:SourceAccount": [OWN, OWN2]}}), None),
    "star, foreign PrincipalAccount": (policy("*", {"StringEquals": {"aws:PrincipalAccount": OTHER}}), R.EXTERNAL),
    "star, own SourceArn": (policy("*", {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{OWN}:t"}}), None),
    "star, bucket SourceArn (no account)": (
        policy("*", {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::some-bucket"}}), R.UNVERIFIED),
    "star, VPC endpoint": (policy("*", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), R.UNVERIFIED),
    "star, IP range": (policy("*", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), R.UNVERIFIED),
    "star, IP range of everything": (policy("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), R.PUBLIC),
    "star, own org AND VPC": (policy("*", {"StringEquals": {"aws:PrincipalOrgID": OWN_ORG,
                                                            "aws:SourceVpc": "vpc-1"}}), None),
    # conditions that do not limit
    "star, negated org": (policy("*", {"StringNotEquals": {"aws:PrincipalOrgID": OWN_ORG}}), R.PUBLIC),
    "star, IfExists": (policy("*", {"StringEqualsIfExists": {"aws:SourceAccount": OWN}}), R.PUBLIC),
    "star, SecureTransport only": (policy("*", {"Bool": {"aws:SecureTransport": "true"}}), R.PUBLIC),
    "star, wildcard account": (policy("*", {"StringLike": {"aws:SourceAccount": "*"}}), R.PUBLIC),
    # effects and NotPrincipal
    "deny star": (policy("*", effect="Deny"), None),
    "NotPrincipal allow": (policy(not_principal={"AWS": f"arn:aws:iam::{OWN}:root"}), R.PUBLIC),
    "NotPrincipal allow, own org": (
        policy(not_principal={"AWS": OTHER}, condition={"StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}), None),
    # other principal kinds
    "canonical user": (policy({"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"}), R.UNVERIFIED),
    "public web identity": (policy({"Federated": "accounts.google.com"}), R.UNVERIFIED),
    "own OIDC provider with subject condition": (
        policy({"Federated": f"arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"},
               {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:me/app:*"}}), None),
    "own OIDC provider without condition": (
        policy({"Federated": f"arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"}), R.UNVERIFIED),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_policy_levels(name):
    document, expected = CASES[name]
    assert R.worst(R.grants_of_policy(document, TRUST)) == expected


def test_org_condition_when_your_org_is_unknown_is_unverified_not_trusted():
    document = policy("*", {"StringEquals": {"aws:PrincipalOrgID": OWN_ORG}})
    grants = R.grants_of_policy(document, R.Trust.of([OWN]))
    assert [g.level for g in grants] == [R.UNVERIFIED]
    assert "trusted_org_ids" in grants[0].reason


def test_policy_as_text_and_as_object_read_the_same():
    document = policy({"AWS": [OTHER, "*"]}, action=["s3:GetObject", "s3:ListBucket"])
    as_object = R.grants_of_policy(document, TRUST)
    as_text = R.grants_of_policy(json.dumps(document, indent=2), TRUST)
    assert as_object == as_text
    assert sorted((g.level, g.principal) for g in as_text) == [(R.EXTERNAL, OTHER), (R.PUBLIC, "*")]
    assert as_text[0].actions == ("s3:GetObject", "s3:ListBucket")
    assert json.loads(as_text[0].statement)["Principal"] == {"AWS": [OTHER, "*"]}


def test_single_statement_object_and_url_encoded_iam_documents():
    single = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": OTHER},
                                                     "Action": "sts:AssumeRole"}}
    assert R.worst(R.grants_of_policy(single, TRUST)) == R.EXTERNAL
    from urllib.parse import quote
    assert R.worst(R.grants_of_policy(quote(json.dumps(single)), TRUST)) == R.EXTERNAL


@pytest.mark.parametrize("hostile", [
    None, "", "not json", "[1, 2]", '{"Statement": "x"}', '{"Statement": [1, "a", null]}',
    "[" * 100_000,
    '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": null}}]}',
])
def test_hostile_policy_text_yields_nothing_and_never_raises(hostile):
    assert R.grants_of_policy(hostile, TRUST) == []


def test_hostile_numeric_principal_is_not_trusted():
    grants = R.grants_of_policy({"Statement": [{"Effect": "Allow", "Principal": 7}]}, TRUST)
    assert [g.level for g in grants] == [R.UNVERIFIED]


def event(source, name, params):
    return R.grants_of_event(source, name, params, TRUST)


def test_every_resource_type_reads_its_policy_from_cloudtrail():
    text = json.dumps(policy("*"))
    cases = [
        ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "b", "bucketPolicy": policy("*")}, "s3_bucket", "b"),
        ("s3.amazonaws.com", "PutAccessPointPolicy", {"name": "ap", "PutAccessPointPolicyRequest": {"Policy": text}},
         "s3_access_point", "ap"),
        ("kms.amazonaws.com", "PutKeyPolicy", {"keyId": "k", "policy": text}, "kms_key", "k"),
        ("sqs.amazonaws.com", "SetQueueAttributes", {"queueUrl": "q", "attributes": {"Policy": text}}, "sqs_queue", "q"),
        ("sns.amazonaws.com", "SetTopicAttributes", {"topicArn": "t", "attributeName": "Policy",
                                                     "attributeValue": text}, "sns_topic", "t"),
        ("ecr.amazonaws.com", "SetRepositoryPolicy", {"repositoryName": "r", "policyText": text}, "ecr_repository", "r"),
        ("secretsmanager.amazonaws.com", "PutResourcePolicy", {"secretId": "s", "resourcePolicy": text},
         "secretsmanager_secret", "s"),
        ("iam.amazonaws.com", "UpdateAssumeRolePolicy", {"roleName": "x", "policyDocument": text}, "iam_role", "x"),
        ("iam.amazonaws.com", "CreateRole", {"roleName": "x", "assumeRolePolicyDocument": text}, "iam_role", "x"),
        ("glacier.amazonaws.com", "SetVaultAccessPolicy", {"vaultName": "v", "policy": {"policy": text}},
         "glacier_vault", "v"),
        ("elasticfilesystem.amazonaws.com", "PutFileSystemPolicy", {"fileSystemId": "fs-1", "policy": text},
         "efs_file_system", "fs-1"),
        ("es.amazonaws.com", "UpdateDomainConfig", {"domainName": "d", "accessPolicies": text},
         "opensearch_domain", "d"),
        ("backup.amazonaws.com", "PutBackupVaultAccessPolicy", {"backupVaultName": "bv", "policy": text},
         "backup_vault", "bv"),
    ]
    for source, name, params, kind, resource in cases:
        got_kind, got_resource, grants = event(source, name, params)
        assert (got_kind, got_resource, R.worst(grants)) == (kind, resource, R.PUBLIC), name


def test_grant_calls_become_statements():
    assert R.worst(event("s3.amazonaws.com", "PutBucketAcl", {"bucketName": "b", "x-amz-acl": ["public-read"]})[2]) \
        == R.PUBLIC
    assert event("s3.amazonaws.com", "PutBucketAcl", {"bucketName": "b", "x-amz-acl": ["private"]})[2] == []
    grant_header = {"bucketName": "b", "x-amz-grant-read": ['uri="http://acs.amazonaws.com/groups/global/AllUsers"']}
    assert R.worst(event("s3.amazonaws.com", "PutBucketAcl", grant_header)[2]) == R.PUBLIC
    acl = {"bucketName": "b", "AccessControlPolicy": {
        "Owner": {"ID": "owner1"},
        "AccessControlList": {"Grant": [
            {"Grantee": {"ID": "owner1"}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"}, "Permission": "WRITE"},
            {"Grantee": {"ID": "stranger9"}, "Permission": "READ"}]}}}
    grants = event("s3.amazonaws.com", "PutBucketAcl", acl)[2]
    assert [(g.level, g.principal, g.actions) for g in grants] == \
        [(R.UNVERIFIED, "CanonicalUser:stranger9", ("s3:acl:READ",))]
    sns = {"topicArn": "t", "aWSAccountId": [OWN, OTHER], "actionName": ["Publish"]}
    assert [(g.level, g.principal) for g in event("sns.amazonaws.com", "AddPermission", sns)[2]] == \
        [(R.EXTERNAL, OTHER)]
    kms = {"keyId": "k", "granteePrincipal": f"arn:aws:iam::{OTHER}:role/r", "operations": ["Decrypt"]}
    assert R.worst(event("kms.amazonaws.com", "CreateGrant", kms)[2]) == R.EXTERNAL
    assert event("kms.amazonaws.com", "CreateGrant", {**kms, "granteePrincipal": OWN})[2] == []


def test_lambda_permissions_with_their_conditions():
    stratus = {"action": "lambda:InvokeFunction", "functionName": "f", "principal": "*", "statementId": "backdoor"}
    kind, resource, grants = event("lambda.amazonaws.com", "AddPermission20150331v2", stratus)
    assert (kind, resource, R.worst(grants)) == ("lambda_function", "f", R.PUBLIC)
    s3_invoke = {"functionName": "f", "principal": "s3.amazonaws.com", "sourceAccount": OWN,
                 "action": "lambda:InvokeFunction"}
    assert event("lambda.amazonaws.com", "AddPermission20150331v2", s3_invoke)[2] == []
    foreign_source = {**s3_invoke, "sourceAccount": OTHER}
    assert R.worst(event("lambda.amazonaws.com", "AddPermission20150331v2", foreign_source)[2]) == R.EXTERNAL
    layer = {"layerName": "l", "principal": "*", "organizationId": OWN_ORG, "action": "lambda:GetLayerVersion"}
    assert event("lambda.amazonaws.com", "AddLayerVersionPermission20181031", layer)[2] == []
    assert R.worst(event("lambda.amazonaws.com", "AddLayerVersionPermission20181031",
                         {**layer, "organizationId": None})[2]) == R.PUBLIC
    url = {"functionName": "f", "authType": "NONE"}
    assert R.worst(event("lambda.amazonaws.com", "CreateFunctionUrlConfig20211031", url)[2]) == R.PUBLIC
    assert event("lambda.amazonaws.com", "CreateFunctionUrlConfig20211031", {**url, "authType": "AWS_IAM"})[2] == []


def test_unrelated_events_and_missing_parameters_yield_nothing():
    assert event("s3.amazonaws.com", "GetObject", {"bucketName": "b"}) == ("", "b", [])
    assert event("s3.amazonaws.com", "PutBucketPolicy", None)[2] == []
    assert event("sns.amazonaws.com", "SetTopicAttributes", {"attributeName": "DisplayName",
                                                             "attributeValue": json.dumps(policy("*"))})[2] == []


def test_nested_objects_given_as_json_text_are_read_like_objects():
    # CloudTrail Lake keeps requestParameters as a map of text: nested objects arrive as JSON strings.
    text = {"queueUrl": "q", "attributes": json.dumps({"Policy": json.dumps(policy("*"))})}
    assert R.worst(event("sqs.amazonaws.com", "SetQueueAttributes", text)[2]) == R.PUBLIC


# --- Added for mutation testing (tests/mutation/survivors.md); levels stated by hand from IAM's grammar.

def test_a_negated_set_operator_does_not_limit():
    # ForAnyValue:StringNotEquals is a negated operator: a request without the key passes it.
    doc = policy("*", {"ForAnyValue:StringNotEquals": {"aws:PrincipalAccount": [OWN]}})
    assert R.worst(R.grants_of_policy(doc, TRUST)) == R.PUBLIC


def test_a_condition_naming_only_you_wins_whatever_the_order():
    # Every condition must hold, so one that names only your organization keeps outsiders out.
    for condition in ({"StringEquals": {"aws:SourceAccount": OTHER, "aws:PrincipalOrgID": OWN_ORG}},
                      {"StringEquals": {"aws:PrincipalOrgID": OWN_ORG, "aws:SourceAccount": OTHER}}):
        assert R.grants_of_policy(policy("*", condition), TRUST) == [], condition


def test_a_service_principal_limited_by_network_is_still_trusted():
    # A service principal is trusted unless a condition names a foreign account; a network limit does not.
    doc = policy({"Service": "sns.amazonaws.com"}, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    assert R.grants_of_policy(doc, TRUST) == []


def test_a_malformed_acl_grant_does_not_hide_the_grants_after_it():
    params = {"bucketName": "b", "AccessControlPolicy": {"Owner": {"ID": "owner"}, "AccessControlList": {"Grant": [
        "junk",
        {"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"},
    ]}}}
    _, _, grants = event("s3.amazonaws.com", "PutBucketAcl", params)
    assert R.worst(grants) == R.PUBLIC


def test_an_unknown_principal_kind_is_never_trusted_as_a_service():
    # Only the Service key names an AWS service; any other key with a service-like value is not one.
    assert R.grants_of_policy(policy({"Weird": "ec2.amazonaws.com"}), TRUST) != []


def test_a_not_principal_statement_limited_to_your_organization_grants_nothing():
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "s3:GetObject",
        "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}}]}
    assert R.grants_of_policy(doc, TRUST) == []


def test_an_open_ip_range_is_skipped_and_the_conditions_after_it_still_count():
    condition = {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}, "StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}
    assert R.grants_of_policy(policy("*", condition), TRUST) == []


def test_a_foreign_organization_reason_names_only_the_foreign_one():
    condition = {"StringEquals": {"aws:PrincipalOrgID": [OWN_ORG, OTHER_ORG]}}
    [grant] = R.grants_of_policy(policy("*", condition), TRUST)
    assert grant.level == R.EXTERNAL and OTHER_ORG in grant.reason and OWN_ORG not in grant.reason


def test_an_unknown_principal_key_naming_a_foreign_account_is_external():
    [grant] = R.grants_of_policy(policy({"Weird": f"arn:aws:iam::{OTHER}:root"}), TRUST)
    assert grant.level == R.EXTERNAL


def test_event_names_lists_policy_and_grant_calls():
    names = R.event_names()
    for pair in (("s3.amazonaws.com", "PutBucketPolicy"), ("iam.amazonaws.com", "UpdateAssumeRolePolicy"),
                 ("kms.amazonaws.com", "CreateGrant"), ("lambda.amazonaws.com", "AddPermission"),
                 ("s3.amazonaws.com", "PutBucketAcl")):
        assert pair in names, pair
    assert names == sorted(set(names))


def test_grants_are_frozen_records():
    import dataclasses

    [grant] = R.grants_of_policy(policy("*"), TRUST)
    assert {grant} == {grant}  # hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        grant.level = R.UNVERIFIED  # type: ignore[misc]


def test_a_foreign_account_reason_names_only_the_foreign_one():
    [grant] = R.grants_of_policy(policy("*", {"StringEquals": {"aws:SourceAccount": [OWN, OTHER]}}), TRUST)
    assert grant.level == R.EXTERNAL and OTHER in grant.reason and OWN not in grant.reason


def test_your_organization_wins_over_a_network_limit_listed_first():
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}, "StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}
    assert R.grants_of_policy(policy("*", condition), TRUST) == []


def test_a_statement_without_an_effect_grants_nothing():
    doc = {"Statement": [{"Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
    assert R.grants_of_policy(doc, TRUST) == []


def test_a_not_principal_statement_limited_by_network_is_unverified():
    doc = {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": OTHER}, "Action": "s3:GetObject",
                          "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}
    assert R.worst(R.grants_of_policy(doc, TRUST)) == R.UNVERIFIED


def test_an_acl_grant_to_any_other_canonical_user_is_unverified():
    for grantee_id in ("0" * 64, "f" * 64):  # below and above the owner's id
        params = {"bucketName": "b", "AccessControlPolicy": {"Owner": {"ID": "8" * 64}, "AccessControlList": {
            "Grant": [{"Grantee": {"ID": grantee_id}, "Permission": "READ"}]}}}
        _, _, grants = event("s3.amazonaws.com", "PutBucketAcl", params)
        assert R.worst(grants) == R.UNVERIFIED, grantee_id


def test_sqs_add_permission_for_a_foreign_account_is_external():
    params = {"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/q", "label": "x",
              "aWSAccountIds": [OTHER], "actions": ["SendMessage"]}
    kind, _, grants = event("sqs.amazonaws.com", "AddPermission", params)
    assert kind == "sqs_queue" and R.worst(grants) == R.EXTERNAL


def test_a_wildcard_account_in_an_arn_is_no_account():
    assert R.account_of("arn:aws:iam::*:root") is None
    assert R.account_of(f"arn:aws:iam::{OTHER}:root") == OTHER


@pytest.mark.parametrize("condition", [
    {"Null": {"aws:PrincipalOrgID": "false"}},  # says a key is present, not whose
    {"Bool": {"aws:SecureTransport": "true"}},
])
def test_null_and_bool_conditions_do_not_limit(condition):
    assert R.worst(R.grants_of_policy(policy("*", condition), TRUST)) == R.PUBLIC


@pytest.mark.parametrize("first", [
    {"StringNotEquals": {"aws:PrincipalAccount": OTHER}},  # negated: skipped
    {"StringLike": "not a block"},  # malformed: skipped
    {"StringEquals": {"aws:SourceAccount": "*"}},  # a wildcard value: skipped
])
def test_a_skipped_condition_does_not_hide_the_ones_after_it(first):
    condition = {**first, "ForAnyValue:StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}
    assert R.grants_of_policy(policy("*", condition), TRUST) == []


def test_an_empty_principal_is_not_everyone():
    assert R.worst(R.grants_of_policy(policy({"AWS": ""}), TRUST)) == R.UNVERIFIED


def test_identity_provider_reasons_say_whether_the_provider_is_yours_or_public():
    [own] = R.grants_of_policy(policy({"Federated": f"arn:aws:iam::{OTHER}:oidc-provider/example.com"}), TRUST)
    [public] = R.grants_of_policy(policy({"Federated": "cognito-identity.amazonaws.com"}), TRUST)
    assert "an identity provider" in own.reason and "public identity provider" in public.reason


def test_a_deny_statement_does_not_hide_the_allow_after_it():
    doc = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"},
                         {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}
    assert R.worst(R.grants_of_policy(doc, TRUST)) == R.PUBLIC


def test_a_grant_quotes_its_statement_as_compact_json_with_sorted_keys():
    doc = {"Statement": [{"Resource": "*", "Principal": "*", "Effect": "Allow", "Action": "s3:GetObject"}]}
    [grant] = R.grants_of_policy(doc, TRUST)
    assert grant.statement == '{"Action":"s3:GetObject","Effect":"Allow","Principal":"*","Resource":"*"}'


def test_a_not_principal_statement_limited_to_a_foreign_account_is_external():
    doc = {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": OWN}, "Action": "s3:GetObject",
                          "Condition": {"StringEquals": {"aws:SourceAccount": OTHER}}}]}
    assert R.worst(R.grants_of_policy(doc, TRUST)) == R.EXTERNAL


def test_add_permission_actions_are_read_from_either_parameter():
    for params in ({"aWSAccountIds": [OTHER], "actions": ["SendMessage"]},
                   {"aWSAccountId": [OTHER], "actionName": ["SendMessage"]}):
        [grant] = event("sqs.amazonaws.com", "AddPermission", {"queueUrl": "q", **params})[2]
        assert grant.actions == ("SendMessage",), params


def test_trust_is_a_frozen_record():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        TRUST.accounts = frozenset()  # type: ignore[misc]
    assert {TRUST} == {R.Trust.of([OWN, OWN2], [OWN_ORG])}


def test_a_not_principal_statement_does_not_hide_the_statements_after_it():
    doc = {"Statement": [
        {"Effect": "Allow", "NotPrincipal": {"AWS": OWN}, "Action": "s3:GetObject",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": OWN_ORG}}},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}
    assert R.worst(R.grants_of_policy(doc, TRUST)) == R.PUBLIC


def test_lambda_permission_for_a_service_without_conditions_is_trusted():
    params = {"functionName": "f", "statementId": "s", "action": "lambda:InvokeFunction",
              "principal": "events.amazonaws.com"}
    assert event("lambda.amazonaws.com", "AddPermission20150331v2", params)[2] == []
