"""Credential material is masked on the data, wherever CloudTrail put it, and nothing else is."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from trailbook import mask

FIXTURES = Path(__file__).parent / "fixtures"
EVENT = json.loads((FIXTURES / "redact" / "get_federation_token.json").read_text())[0]
TOKEN = EVENT["responseElements"]["credentials"]["sessionToken"]
# AWS's documented example secret key (docs.aws.amazon.com), not a live credential.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN_UA = "Mozilla/5.0 " + "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIHexample"


@pytest.mark.parametrize("document,path", [
    ({"environment": {"variables": {"AWS_SECRET_ACCESS_KEY": EXAMPLE_SECRET}}},
     "environment.variables.AWS_SECRET_ACCESS_KEY"),
    ({"containerDefinitions": [{"environment": [{"name": "AWS_SECRET_ACCESS_KEY", "value": EXAMPLE_SECRET}]}]},
     "containerDefinitions[0].environment[0].value"),  # ECS / CodeBuild name-value pairs
    ({"masterUserPassword": "correct horse"}, "masterUserPassword"),
    ({"credentials": {"sessionToken": TOKEN}}, "credentials.sessionToken"),
    ({"SecretString": '{"password":"x"}'}, "SecretString"),
])
def test_values_under_secret_keys_are_masked_and_named(document, path):
    hits: list[mask.Hit] = []
    masked = mask.mask_value(document, "", hits)
    assert EXAMPLE_SECRET not in json.dumps(masked) and "correct horse" not in json.dumps(masked)
    assert TOKEN not in json.dumps(masked)
    assert [hit.where for hit in hits] == [path]


# A secret key made up for this test (random base64 shape), under names that do not say "secret".
RANDOM_SECRET = "Zq3/kP9vXr2mT8sLw1Yb+Nc4Hd7Jf6Ga0Ue5Oi2R"


@pytest.mark.parametrize("document,path", [
    # Lambda CreateFunction / UpdateFunctionConfiguration requestParameters, as CloudTrail logs them
    ({"functionName": "f", "environment": {"variables": {"STRIPE_SECRET_KEY": "sk_live_abcdef123456"}}},
     "environment.variables.STRIPE_SECRET_KEY"),
    ({"environment": {"variables": {"DEPLOY_CREDS": RANDOM_SECRET}}}, "environment.variables.DEPLOY_CREDS"),
    ({"environment": [{"name": "UPSTREAM", "value": RANDOM_SECRET}]}, "environment[0].value"),
    ({"clientSecret": "abc123def456"}, "clientSecret"),
])
def test_env_variables_and_secret_shaped_values_are_masked(document, path):
    hits: list[mask.Hit] = []
    text = json.dumps({"requestParameters": document})
    masked = mask.mask_string(text, "requestparameters", hits)
    assert RANDOM_SECRET not in masked and "sk_live_abcdef123456" not in masked and "abc123def456" not in masked
    assert [hit.where for hit in hits] == [f"requestparameters.requestParameters.{path}"]


@pytest.mark.parametrize("document", [
    {"environment": {"variables": {"GIT_COMMIT": "9fceb02d0ae598e95dc970b74767f19372d61af8"}}},  # hex: a commit
    {"environment": {"variables": {"LOG_LEVEL": "debug"}}},
    {"hasPassword": True, "secretId": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db"},
])
def test_ordinary_environment_values_are_kept(document):
    hits: list[mask.Hit] = []
    text = json.dumps(document)
    assert mask.mask_string(text, "requestparameters", hits) == text and hits == []


def test_credential_shapes_are_masked_anywhere_and_the_rest_of_the_text_stays():
    hits: list[mask.Hit] = []
    assert mask.mask_string(TOKEN_UA, "useragent", hits) == "Mozilla/5.0 [masked: session token]"
    assert hits == [mask.Hit("session token", "useragent")]
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    assert mask.mask_string(f"key: {pem} end") == "key: [masked: private key] end"
    assert "ghp_" not in mask.mask_string("token ghp_" + "a" * 36)


@pytest.mark.parametrize("text", [
    '{"accessKeyId": "ASIASTJKC5GCM7ZE6LUP"}',  # a key id is how a responder finds the key
    '{"sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS"}',  # what AWS writes instead
    '{"secretArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db"}',
    '{"passwordLastUsed": "2026-10-01", "nextToken": "abc"}',
    '{"name": "REGION", "value": "eu-west-1"}',
    "aws-cli/2.13.0 Python/3.11.4 Linux/5.15 exe/x86_64",
])
def test_nothing_else_is_masked(text):
    hits: list[mask.Hit] = []
    assert mask.mask_string(text, "x", hits) == text
    assert hits == []


def test_a_frame_is_masked_in_every_text_and_list_column_and_the_original_is_kept():
    frame = pd.DataFrame({
        "useragent": [TOKEN_UA, "aws-cli/2"],
        "requestparameters": [json.dumps({"password": "hunter22"}), None],
        "event_names": [["ConsoleLogin"], ["x " + TOKEN]],
        "event_count": [1, 2],
    })
    hits: list[mask.Hit] = []
    masked = mask.mask_frame(frame, hits)
    text = masked.to_json()
    assert "IQoJ" not in text and "hunter22" not in text and TOKEN[:30] not in text
    assert masked["useragent"][1] == "aws-cli/2" and list(masked["event_count"]) == [1, 2]
    assert {hit.where for hit in hits} == {"useragent", "requestparameters.password", "event_names"}
    assert frame["useragent"][0] == TOKEN_UA  # the caller's frame is not changed


def test_the_real_federation_token_event_loses_its_token():
    hits: list[mask.Hit] = []
    masked = mask.mask_value(EVENT, "", hits)
    assert TOKEN not in json.dumps(masked)
    assert masked["responseElements"]["credentials"]["accessKeyId"] == \
        EVENT["responseElements"]["credentials"]["accessKeyId"]


# --- Added for mutation testing (tests/mutation/survivors.md).

def test_keyed_secrets_in_plain_text_keep_their_key_and_say_what_was_there():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret key, 40 characters
    assert mask.mask_text(f"aws_secret_access_key={secret} rest") == "aws_secret_access_key=[masked: secret] rest"
    assert mask.mask_text("login password: Sup3rS3cretValue") == "login password: [masked: password]"


def test_a_masked_json_document_keeps_its_other_text_as_written():
    masked = mask.mask_string('{"password": "hunter22x", "note": "Grüße, 東京"}')
    assert json.loads(masked) == {"password": "[masked: secret]", "note": "Grüße, 東京"}
    assert "Grüße, 東京" in masked  # not \\u-escaped


def test_placeholders_and_masked_values_in_text_are_left_as_they_are():
    for text in ("password=REDACTED", "password: ****", "password=[masked: password]"):
        assert mask.mask_text(text) == text


def test_json_nested_too_deep_to_parse_is_masked_as_text_not_a_crash():
    text = "[" * 100_000 + '"password=Sup3rS3cretValue"' + "]" * 100_000
    masked = mask.mask_string(text)
    assert "Sup3rS3cretValue" not in masked and "[masked: password]" in masked


def test_a_json_document_with_nothing_to_mask_is_returned_byte_for_byte():
    text = '{"NextToken":  "abc",   "keyName": "prod"}'  # hints (token, key), but no secret
    assert mask.mask_string(text) == text


def test_an_ordinary_name_value_pair_is_kept():
    pairs = [{"name": "PATH", "value": "/usr/local/bin:/usr/bin"}, {"Name": "LOG_LEVEL", "Value": "debug"}]
    assert mask.mask_value(pairs) == pairs


def test_a_passphrase_in_a_json_text_cell_is_masked():
    masked = mask.mask_string('{"passphrase": "correct horse battery staple"}')
    assert "correct horse" not in masked


def test_every_kind_of_cell_is_masked_whatever_the_column_order():
    import numpy as np

    frame = pd.DataFrame({
        "event_count": [1],  # a non-text column first must not end the scan
        "event_names": [np.array(["x " + TOKEN], dtype=object)],  # DuckDB returns lists as arrays
        "additionaleventdata": [{"password": "hunter22x"}],  # and structs as dicts
    })
    masked = mask.mask_frame(frame)
    assert TOKEN[:30] not in str(masked["event_names"][0])
    assert masked["additionaleventdata"][0] == {"password": "[masked: secret]"}


def test_hits_are_frozen_records():
    import dataclasses

    hit = mask.Hit("secret", "x")
    assert {hit} == {mask.Hit("secret", "x")}
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.kind = "other"  # type: ignore[misc]


@pytest.mark.parametrize("key", ["SecretAccessKey", "password", "passwd", "pwd", "passphrase", "MasterUserPassword",
                                 "privateKey", "sessionToken", "apiKey", "token", "SecretString",
                                 "ConnectionString", "db_password", "client-secret"])
def test_every_secret_key_name_is_masked_inside_json_text(key):
    # Key names from the masking rule's list, spelled as CloudTrail and SDKs spell them.
    masked = mask.mask_string(json.dumps({key: "hunter2-but-longer"}))
    assert "hunter2" not in masked, key
