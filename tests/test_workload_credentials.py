"""Workload credentials used outside their runtime, and one session key from two networks.

Fixtures: tests/fixtures/queries/{workload_credentials_used_elsewhere,session_key_from_two_networks}/
(real events from Panther's rule tests, Stratus Red Team and TrailDiscover, with derived variants;
see tests/fixtures/ATTRIBUTION.md). The workload match file holds three runtimes, one account each:
a Lambda function (111222333444), an ECS Fargate task (123456789123) and an EC2 instance
(017622104382), each seen first from its runtime and then from an outside address with the AWS CLI.
Every runtime is also run alone, as the small incident folder it stands for. The expected keys and
eventIDs below are written by hand from the fixture files, not taken from the queries.
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, QUERY_FIXTURES, local_session

WORKLOAD = "workload_credentials_used_elsewhere"
TWO_NETWORKS = "session_key_from_two_networks"


def _ids(prefix: str, *numbers: int) -> list[str]:
    return [f"{prefix}000000-0000-4000-8000-{n:012d}" for n in numbers]


# account -> (runtime, session key, outside calls in time order, the runtime's own calls, reasons)
RUNTIMES = {
    "111222333444": ("lambda", "ASIAJMVY5WC5K4TDFNFA", _ids("a1", 11, 12, 13),
                     ["8780fc6b-7742-4a45-b757-c351a54c79b8", *_ids("a1", 2, 3, 4, 5)],
                     "network the runtime does not use; AWS CLI without exec-env"),
    "123456789123": ("ecs", "ASIA3JHVJH35KB7LJHV2", _ids("a2", 11, 12, 13),
                     ["0b51d284-19f7-42cf-a103-276602aeada5", *_ids("a2", 1, 2, 3, 4, 5)],
                     "workstation user agent; network the runtime does not use; AWS CLI without exec-env"),
    "017622104382": ("ec2", "ASIAP5CT9NN8EYVU1FXV",
                     ["b379479b-05c9-4c3c-af4b-cbd43acf29e1", "394cf343-b9cf-48ce-8a94-e188656ae8ba"],
                     _ids("a3", 1, 2, 3, 4, 5), "network the runtime does not use"),
}
# Each runtime's window: the afternoon of its recording.
WINDOWS = {"111222333444": ("2021-10-14T12:00:00Z", "2021-10-14T18:00:00Z"),
           "123456789123": ("2022-11-21T12:00:00Z", "2022-11-21T23:00:00Z"),
           "017622104382": ("2024-08-02T06:00:00Z", "2024-08-02T12:00:00Z")}


def _fixture(name: str, case: str) -> list[dict]:
    # The hand-described records only: the mutation suite's near misses (eventIDs "nearmiss…", one
    # condition changed each) are judged by tests/test_queries.py against expect_event_ids.json.
    records = json.loads((QUERY_FIXTURES / name / f"{case}.json").read_text())
    return [r for r in records if not str(r.get("eventID", "")).startswith("nearmiss")]


def _account(records: list[dict], account: str) -> list[dict]:
    return [r for r in records if r["recipientAccountId"] == account]


def _run(records, tmp_path, account, name=WORKLOAD, **params):
    start, end = WINDOWS[account]
    return local_session(records, tmp_path, start=start, end=end).run(name, **params)


@pytest.mark.parametrize("account", sorted(RUNTIMES))
def test_each_runtime_alone_is_reported_with_its_outside_calls_first(account, tmp_path):
    runtime, key, outside, own, reasons = RUNTIMES[account]
    records = _account(_fixture(WORKLOAD, "match"), account)
    assert len(records) < 50
    rows = _run(records, tmp_path, account)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["access_key_id"] == key
    assert row["runtime"] == runtime
    assert list(row["outside_event_ids"]) == outside
    assert list(row["event_ids"])[: len(outside)] == outside  # the matched calls lead
    assert sorted(row["event_ids"]) == sorted(outside + own)  # then every call of the session
    assert row["event_count"] == len(outside + own)
    assert row["outside_count"] == len(outside)
    assert row["reasons"] == reasons


def test_the_outside_address_and_client_are_named(tmp_path):
    rows = _run(_account(_fixture(WORKLOAD, "match"), "123456789123"), tmp_path, "123456789123")
    row = rows.iloc[0]
    assert row["source_ip"] == "198.51.100.23"
    assert row["user_agent"] == "aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0 botocore/1.17.59"
    assert list(row["runtime_networks"]) == ["1.1"]  # the VPC endpoint call (10.0.12.34) is inside
    assert list(row["runtime_agents"]) == ["AWS_ECS_FARGATE"]
    assert sorted(row["event_names"]) == ["GetCallerIdentity", "ListAccounts", "ListRoots"]


def test_lambda_calls_from_two_aws_pools_are_one_runtime(tmp_path):
    rows = _run(_account(_fixture(WORKLOAD, "match"), "111222333444"), tmp_path, "111222333444")
    assert list(rows.iloc[0]["runtime_networks"]) == ["3.91", "54.90"]


@pytest.mark.parametrize("account", sorted(RUNTIMES))
def test_the_runtimes_own_calls_and_denials_raise_nothing(account, tmp_path):
    records = _account(_fixture(WORKLOAD, "nomatch"), account)
    assert any(r.get("errorCode") == "AccessDenied" for r in records)
    session = local_session(records, tmp_path, start=WINDOWS[account][0], end=WINDOWS[account][1])
    assert session.run(WORKLOAD).empty
    assert session.run(TWO_NETWORKS).empty


def test_the_cli_alone_gives_away_a_lambda_key_used_from_the_same_aws_network(tmp_path):
    # The thief replays the key from an EC2 host of their own in the Lambda's /16.
    records = _account(_fixture(WORKLOAD, "match"), "111222333444")
    for r in records:
        if r["sourceIPAddress"] == "203.0.113.50":
            r["sourceIPAddress"] = "54.90.11.12"
    session = local_session(records, tmp_path, start=WINDOWS["111222333444"][0], end=WINDOWS["111222333444"][1])
    row = session.run(WORKLOAD).iloc[0]
    assert row["reasons"] == "AWS CLI without exec-env"
    assert list(row["outside_event_ids"]) == _ids("a1", 11, 12, 13)
    assert session.run(WORKLOAD, cli_user_agents="^never-a-cli/").empty


def test_the_cli_is_not_foreign_to_an_instance(tmp_path):
    # An instance runs the AWS CLI itself; from the instance's own /16 it stays inside.
    records = _account(_fixture(WORKLOAD, "match"), "017622104382")
    for r in records:
        if r["sourceIPAddress"] == "192.0.2.200":
            r["sourceIPAddress"] = "52.34.9.9"
    assert _run(records, tmp_path, "017622104382").empty


def test_a_service_assume_role_marks_the_session_as_a_workload(tmp_path):
    # Without exec-env in any call, the Lambda service's own AssumeRole still names the runtime.
    records = _account(_fixture(WORKLOAD, "match"), "111222333444")
    for r in records:
        if "exec-env/" in (r.get("userAgent") or ""):
            r["userAgent"] = r["userAgent"].split(" exec-env/")[0]
    row = _run(records, tmp_path, "111222333444").iloc[0]
    assert row["runtime"] == "lambda"
    assert list(row["runtime_networks"]) == ["54.90"]  # the first call's network
    without_issuer = [r for r in records if r["eventName"] != "AssumeRole"]
    assert _run(without_issuer, tmp_path / "plain", "111222333444").empty  # an ordinary role session


def test_hostile_records_around_a_finding_change_nothing(tmp_path):
    records = _account(_fixture(WORKLOAD, "match"), "123456789123")
    base = records[0]  # the task's own DescribeAccount (exec-env/AWS_ECS_FARGATE)
    odd = []
    for i, ip in enumerate([None, "", "AWS Internal", "999.1.1.1", "::", "fd00::1", "x" * 5000]):
        e = json.loads(json.dumps(base))
        e.update(eventID=f"ffff0000-0000-4000-8000-{i:012d}", sourceIPAddress=ip,
                 userAgent=base["userAgent"] + " \u202e\x00" + "%" * 3000)
        odd.append(e)
    stray = json.loads(json.dumps(base))
    stray.update(eventID="ffff0000-0000-4000-8000-000000000099", sourceIPAddress="203.0.113.200", userAgent=None,
                 userIdentity={"type": "AssumedRole", "accessKeyId": "ASIAODDODDODDODDODD1"})
    rows = _run(records + odd + [stray], tmp_path, "123456789123")
    assert list(rows["access_key_id"]) == ["ASIA3JHVJH35KB7LJHV2"]
    assert list(rows.iloc[0]["outside_event_ids"]) == _ids("a2", 11, 12, 13)


def test_the_two_networks_query_reports_each_runtime_too(tmp_path):
    expected = {"111222333444": ["3.91", "54.90"], "123456789123": ["1.1"], "017622104382": ["52.34"]}
    for account, home in expected.items():
        records = _account(_fixture(WORKLOAD, "match"), account)
        rows = _run(records, tmp_path / account, account, name=TWO_NETWORKS)
        assert list(rows["access_key_id"]) == [RUNTIMES[account][1]]
        assert list(rows.iloc[0]["home_networks"]) == home
        assert list(rows.iloc[0]["outside_event_ids"]) == RUNTIMES[account][2]
        assert rows.iloc[0]["network_count"] == 2


def test_two_networks_match_fixture_exactly(tmp_path):
    records = _fixture(TWO_NETWORKS, "match")
    rows = local_session(records, tmp_path, start="2021-10-19T00:00:00Z", end="2026-02-23T00:00:00Z").run(TWO_NETWORKS)
    found = {r["access_key_id"]: r for r in rows.to_dict("records")}
    assert sorted(found) == ["ASIA153151351351351", "ASIA2TOHFHNGEXAMPLE7"]
    lam = found["ASIA153151351351351"]
    assert lam["severity"] == "high"
    assert list(lam["outside_event_ids"]) == _ids("b1", 2, 3)
    assert list(lam["networks"]) == ["12.34", "198.51"]
    assert sorted(lam["event_ids"]) == sorted(["6faccad9-b6ae-4549-8e39-03430cbce2aa", *_ids("b1", 1, 2, 3)])
    sso = found["ASIA2TOHFHNGEXAMPLE7"]
    assert sso["severity"] == "medium"  # an Identity Center user's own session
    assert list(sso["event_ids"]) == _ids("b2", 3, 1, 2)


def test_two_networks_min_networks_threshold(tmp_path):
    records = _fixture(TWO_NETWORKS, "match")
    session = local_session(records, tmp_path, start="2021-10-19T00:00:00Z", end="2026-02-23T00:00:00Z")
    assert session.run(TWO_NETWORKS, min_networks=3).empty


def test_stratus_stolen_instance_key_is_reported_by_the_shared_source_ip(tmp_path):
    path = FIXTURES / "stratus" / "aws.credential-access.ec2-steal-instance-credentials.json"
    events = json.loads(path.read_text())
    rows = local_session(events, tmp_path, start="2024-08-02T00:00:00Z", end="2024-08-03T00:00:00Z").run(WORKLOAD)
    assert list(rows["access_key_id"]) == ["ASIAP5CT9NN8EYVU1FXV"]
    row = rows.iloc[0]
    assert row["runtime"] == "ec2"
    assert row["reasons"] == "IP also used by IAM users or root"
    assert list(row["outside_event_ids"]) == ["b379479b-05c9-4c3c-af4b-cbd43acf29e1",
                                              "394cf343-b9cf-48ce-8a94-e188656ae8ba"]


def test_mordor_stolen_instance_key_is_reported_by_its_laptop_user_agent(tmp_path):
    from trailbook.engines.local import LocalEngine
    from trailbook.session import Session
    from trailbook.sources import prepare

    mordor = FIXTURES / "mordor"
    store = tmp_path / "store"
    prepare(mordor / "ec2_proxy_s3_exfiltration_2020-09-14011940.json", store)
    session = Session(LocalEngine(store=store), start="2020-09-14T00:00:00Z", end="2020-09-15T00:00:00Z")
    rows = session.run(WORKLOAD)
    assert list(rows["access_key_id"]) == ["ASIA5FLZVX4OPVKKVBMX"]
    labels = [json.loads(line) for line in (mordor / "labels.derived.jsonl").read_text().splitlines() if line.strip()]
    stolen = {row["eventID"] for row in labels if row.get("label") == "attacker_stolen_instance_role_creds"}
    row = rows.iloc[0]
    assert len(row["outside_event_ids"]) == 11  # the eleven aws-cli (Darwin) calls
    assert set(row["outside_event_ids"]) == stolen
    # Every source IP is 1.2.3.4 in this dataset, the admin's too: the shared-IP reason holds here, and
    # no network difference is claimed.
    assert row["reasons"] == "workstation user agent; IP also used by IAM users or root"
    assert session.run(TWO_NETWORKS).empty


# AWS CLI v2's newer user agent names macOS as os/macos, with no Darwin/ token (written by hand in the
# format of the TrailDiscover CLI user agent in the fixtures, with botocore's darwin -> macos name).
CLI_MACOS = ("aws-cli/2.15.58 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 "
             "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off "
             "md/command#sts.get-caller-identity")


def test_a_thief_who_exported_the_runtime_environment_is_still_outside(tmp_path):
    # Dumping a Lambda's environment copies AWS_EXECUTION_ENV too: the laptop's CLI then carries the marker.
    records = _account(_fixture(WORKLOAD, "match"), "111222333444")
    for r in records:
        if r["sourceIPAddress"] == "203.0.113.50":
            r["userAgent"] = CLI_MACOS + " exec-env/AWS_Lambda_go1.x"
    session = local_session(records, tmp_path, start=WINDOWS["111222333444"][0], end=WINDOWS["111222333444"][1])
    row = session.run(WORKLOAD).iloc[0]
    assert list(row["outside_event_ids"]) == _ids("a1", 11, 12, 13)
    assert row["reasons"].startswith("workstation user agent; network the runtime does not use")
    assert list(row["runtime_networks"]) == ["3.91", "54.90"]
    two = session.run(TWO_NETWORKS)
    assert list(two.iloc[0]["outside_event_ids"]) == _ids("a1", 11, 12, 13)


def test_the_new_macos_cli_user_agent_is_a_workstation_for_the_instance_detection_too(tmp_path):
    records = _account(_fixture(WORKLOAD, "match"), "017622104382")
    for r in records:
        if r["sourceIPAddress"] == "192.0.2.200":
            r["sourceIPAddress"] = INSTANCE_IP = "52.34.118.9"  # even from the instance's own address
            r["userAgent"] = CLI_MACOS
    session = local_session(records, tmp_path, start=WINDOWS["017622104382"][0], end=WINDOWS["017622104382"][1])
    row = session.run(WORKLOAD).iloc[0]
    assert row["reasons"] == "workstation user agent"
    assert list(row["outside_event_ids"]) == RUNTIMES["017622104382"][2]
    old = session.run("instance_credentials_outside_aws")
    assert list(old["access_key_id"]) == ["ASIAP5CT9NN8EYVU1FXV"]
    assert old.iloc[0]["reasons"] == "workstation user agent"
    assert INSTANCE_IP in old.iloc[0]["source_ip"]
