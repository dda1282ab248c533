"""OTRF Mordor ec2_proxy_s3_exfiltration: the stolen instance-profile key is reported.

The dataset (tests/fixtures/mordor/, MIT) is Logstash NDJSON in which every source IP is 1.2.3.4,
so no IP logic can tell the attacker apart; the instance role's session (i-0317f6c6b66ae9c40) used
from a laptop's aws-cli (Darwin) can. labels.derived.jsonl marks the attacker's events.
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from trailbook.analyses import keys as K
from trailbook.engines.local import LocalEngine
from trailbook.session import Session
from trailbook.sources import prepare

MORDOR = FIXTURES / "mordor"
STOLEN_KEY = "ASIA5FLZVX4OPVKKVBMX"
ADMIN_KEY = "ASIA5FLZVX4OI4ZDQJOL"


@pytest.fixture(scope="module")
def session(tmp_path_factory, catalog):
    store = tmp_path_factory.mktemp("mordor") / "store"
    prepare(MORDOR / "ec2_proxy_s3_exfiltration_2020-09-14011940.json", store)
    engine = LocalEngine(store=store)
    return Session(engine, start="2020-09-14T00:00:00Z", end="2020-09-15T00:00:00Z", catalog=catalog)


@pytest.fixture(scope="module")
def labels() -> dict[str, str]:
    rows = [json.loads(line) for line in (MORDOR / "labels.derived.jsonl").read_text().splitlines() if line.strip()]
    return {row["eventID"]: row["label"] for row in rows}


def test_every_ip_is_the_same_so_ip_logic_cannot_help(session):
    ips = session.engine.con.execute("SELECT DISTINCT sourceipaddress FROM cloudtrail WHERE sourceipaddress NOT LIKE '%amazonaws.com'").fetchall()
    assert ips == [("1.2.3.4",)]


def test_stolen_instance_key_is_reported_by_its_user_agent(session, labels):
    found = session.run("instance_credentials_outside_aws")
    assert list(found["access_key_id"]) == [STOLEN_KEY]
    row = found.iloc[0]
    assert row["principal_arn"].endswith("/i-0317f6c6b66ae9c40")
    assert "workstation user agent" in row["reasons"]
    assert "Darwin" in row["user_agent"]
    attacker = {i for i, label in labels.items() if label == "attacker_stolen_instance_role_creds"}
    assert row["event_count"] == len(attacker) == 11
    assert set(row["event_ids"]) == attacker


def test_the_admins_console_session_is_not_reported(session):
    found = session.run("instance_credentials_outside_aws")
    assert ADMIN_KEY not in set(found["access_key_id"])


def test_the_hunt_reports_the_stolen_key(session):
    found = K.hunt(session, baseline_days=1)
    stolen = found[found["access_key_id"] == STOLEN_KEY]
    assert "instance_credentials_outside_aws" in set(stolen["detection"])
    assert stolen.iloc[0]["severity"] in ("high", "critical")
