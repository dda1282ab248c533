"""stages: the resource_policy stage on the local engine, and its SQL kept in step with the parser."""

from __future__ import annotations

import json
import re

import pandas as pd

from conftest import QUERY_FIXTURES, local_session
from trailbook import resource_policy as R
from trailbook import stages

NAME = "resource_policy_external_access"
FIXTURES = QUERY_FIXTURES / NAME

# Hand-derived from each match event (tests/fixtures/queries/resource_policy_external_access/).
EXPECTED = {
    "a537b7e4-12a2-516c-acd8-6376cb4a0fcb": ("public", "critical", "s3_bucket", "customer-exports", ["*"]),
    "00000000-0000-4000-8000-000000000001": ("external", "high", "kms_key", "1234abcd-12ab-34cd-56ef-1234567890ab",
                                             ["arn:aws:iam::999988887777:root"]),
    "00000000-0000-4000-8000-000000000002": ("external", "high", "sqs_queue",
                                             "https://sqs.us-east-1.amazonaws.com/143434273843/orders", ["*"]),
    "00000000-0000-4000-8000-000000000003": ("public", "critical", "ecr_repository", "app", ["*"]),
    "00000000-0000-4000-8000-000000000004": ("public", "critical", "secretsmanager_secret", "prod/db", ["*"]),
    "00000000-0000-4000-8000-000000000005": ("external", "high", "sns_topic",
                                             "arn:aws:sns:us-east-1:143434273843:alerts", ["999988887777"]),
    "00000000-0000-4000-8000-000000000006": ("external", "high", "lambda_function", "billing",
                                             ["Service:s3.amazonaws.com"]),
    "b67a9bba-d9da-4980-bf74-baed881b117d": ("public", "critical", "lambda_function",
                                             "stratus-red-team-backdoor-f-func", ["*"]),
}


def _run(case, tmp_path):
    params = json.loads((FIXTURES / "params.json").read_text())
    records = json.loads((FIXTURES / f"{case}.json").read_text())
    session = local_session(records, tmp_path, start=params.pop("start"), end=params.pop("end"))
    return session.run(NAME, **params)


def test_every_match_event_is_one_finding_with_its_exposure(tmp_path):
    found = _run("match", tmp_path)
    got = {ids[0]: (row.exposure, row.severity, row.resource_type, row.resource, list(row.grantees))
           for ids, row in zip(found["event_ids"], found.itertuples(), strict=True)}
    assert got == EXPECTED
    assert not set(stages.RESOURCE_POLICY_INPUTS) & set(found.columns)
    grants = json.loads(found.loc[found["resource"] == "prod/db", "grants"].iloc[0])
    assert grants[0]["reason"].startswith("NotPrincipal") and '"NotPrincipal"' in grants[0]["statement"]


def test_no_match_events_are_all_trusted_failed_or_denied(tmp_path):
    assert _run("nomatch", tmp_path).empty


def test_the_sql_selects_exactly_the_calls_the_parser_reads():
    sql = (FIXTURES.parents[2].parent / "queries" / "exposure" / f"{NAME}.sql").read_text()
    sources = set(re.findall(r"'([a-z0-9.-]+\.amazonaws\.com)'", sql.split("eventsource IN", 1)[1].split(")")[0]))
    names = set(re.findall(r"'([A-Za-z]+)'", sql.split("IN (", 2)[2].split(")")[0]))
    parsed = {(s, n) for s, n in R.event_names() if s != "iam.amazonaws.com"}  # role trust: iam_role_trust_backdoor
    assert sources == {s for s, _ in parsed}
    assert names == {n for _, n in parsed}


def test_stage_on_an_empty_frame_keeps_the_shape():
    empty = pd.DataFrame(columns=["detection", "event_names", *stages.RESOURCE_POLICY_INPUTS])
    out = stages.resource_policy(empty)
    assert out.empty and list(out.columns) == ["detection", "event_names", "exposure", "resource_type", "resource",
                                               "grantees", "grants"]
