"""The key hunt, incident scoping, the runbook and the key plots, on small real-shaped fixtures.

Events are the Stratus iam-create-admin-user and iam-backdoor-user detonations
(tests/fixtures/stratus/, Apache-2.0): the attacker's key creates a user, makes it an
administrator and gives it a key; the backdoor key is then used from elsewhere.
"""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from matplotlib.figure import Figure

from conftest import FIXTURES, local_session
from trailbook.analyses import incident as I
from trailbook.analyses import keys as K
from trailbook.params import ParameterError
from trailbook.plots import keys as plots

ADMIN = json.loads((FIXTURES / "stratus" / "aws.persistence.iam-create-admin-user.json").read_text())
ATTACKER_KEY = ADMIN[0]["userIdentity"]["accessKeyId"]
NEW_KEY = next(e for e in ADMIN if e["eventName"] == "CreateAccessKey")["responseElements"]["accessKey"]["accessKeyId"]


def _backdoor_use() -> dict:
    use = copy.deepcopy(next(e for e in ADMIN if e["eventName"] == "CreateUser"))
    use.update(eventID="6f1c1d2e-0000-4000-8000-000000000001", eventName="ListBuckets", eventSource="s3.amazonaws.com",
               eventTime="2024-08-01T14:00:00Z", readOnly=True, sourceIPAddress="198.51.100.66", requestParameters=None,
               responseElements=None)
    use["userIdentity"] = {**use["userIdentity"], "accessKeyId": NEW_KEY, "userName": "malicious-iam-user",
                           "arn": use["userIdentity"]["arn"].replace("user/christophe", "user/malicious-iam-user")}
    return use


@pytest.fixture(scope="module")
def session(tmp_path_factory, catalog):
    tmp = tmp_path_factory.mktemp("keys")
    return local_session(ADMIN + [_backdoor_use()], tmp, start="2024-08-01T00:00:00Z", end="2024-08-02T00:00:00Z",
                         catalog=catalog)


@pytest.fixture(scope="module")
def found(session):
    return K.hunt(session, baseline_days=7)


def test_hunt_runs_every_key_and_guardrail_detection(session):
    names = K.hunt_queries(session)
    assert {"key_new_source_ip", "instance_credentials_outside_aws", "iam_admin_policy_granted",
            "secrets_bulk_retrieval", "guardduty_disabled", "cloudtrail_logging_disabled"} <= set(names)
    assert "console_login_without_mfa" not in names  # the console-login notebook owns sign-ins
    assert all(session.query(n).is_detection for n in names)


def test_hunt_reports_the_admin_user_story(found):
    detections = set(found["detection"])
    assert {"iam_user_created_then_privileged", "iam_admin_policy_granted", "iam_access_key_created_for_other_user",
            "access_key_created_then_used"} <= detections
    used = found[found["detection"] == "access_key_created_then_used"].iloc[0]
    assert used["access_key_id"] == NEW_KEY and used["source_ip"] == "198.51.100.66"
    assert used["severity"] == "high"  # created by someone other than the key's user
    assert list(found["severity"].map({"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4})) == sorted(
        found["severity"].map({"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}), reverse=True)


def test_hunt_rejects_unknown_thresholds(session):
    with pytest.raises(ParameterError, match="min_denied_actionz"):
        K.hunt(session, min_denied_actionz=3)
    with pytest.raises(ParameterError, match="baseline_days"):
        K.hunt(session, baseline_days=0)


def test_thresholds_reach_the_detections(session):
    strict = K.hunt(session, names=["iam_user_created_then_privileged"], within_hours=1)
    assert len(strict) == 1
    assert session.evidence[-1].parameters["within_hours"] == 1


def test_incident_mode_keeps_only_the_subject(found):
    mine = K.for_subject(found, access_key_id=NEW_KEY)
    assert set(mine["access_key_id"]) == {NEW_KEY}
    assert K.for_subject(found).equals(found)


def test_activity_matrix_counts_calls(session):
    activity = K.key_activity(session, [ATTACKER_KEY, NEW_KEY])
    by_day = K.activity_matrix(activity, by="day")
    assert by_day.loc[ATTACKER_KEY, "2024-08-01"] == 3 and by_day.loc[NEW_KEY, "2024-08-01"] == 1
    by_hour = K.activity_matrix(activity[activity["access_key_id"] == ATTACKER_KEY], by="hour")
    assert list(by_hour.columns) == list(range(24)) and by_hour.loc["2024-08-01", 13] == 3
    assert K.activity_matrix(activity.iloc[0:0]).empty
    with pytest.raises(ValueError):
        K.activity_matrix(activity, by="week")


def test_scope_follows_the_key_one_hop(session):
    scope = I.scope(session, access_key_id=ATTACKER_KEY)
    summary = scope.summary()
    assert summary["calls"] == 3 and summary["users"] == ["christophe"]
    assert summary["first_seen"] == "2024-08-01T13:33:28Z"
    assert list(scope.sources["source_ip"]) == ["075.050.255.67"] and scope.sources["calls"].iloc[0] == 3
    assert set(scope.spawned["kind"]) == {"user", "access key"}
    assert NEW_KEY in set(scope.spawned["spawned_key_id"])
    hop = scope.spawned_summary()
    assert hop.loc[hop["spawned_key_id"] == NEW_KEY, "calls_after"].iloc[0] == 1
    assert set(scope.changes()["eventname"]) == {"CreateUser", "AttachUserPolicy", "CreateAccessKey"}
    assert scope.by("awsregion")["calls"].sum() == 3
    assert scope.errors().empty
    assert "Incident scope" in scope._repr_html_()


def test_hunt_mode_scope_says_so_and_has_no_timeline(session, capsys):
    scope = I.scope(session)
    assert not scope.active and "Hunt mode: no key or principal is scoped" in scope._repr_html_()
    I.print_runbook(scope, pd.DataFrame())
    assert capsys.readouterr().out == ""  # no findings, no incident, nothing to respond to
    assert plots.incident_timeline(scope) is None


def test_hunt_mode_prints_a_runbook_for_each_severe_incident(session, found, capsys):
    # A scheduled report names no key: the hunt's own incidents get the response.
    I.print_runbook(I.scope(session), found)
    text = capsys.readouterr().out
    titles = [line for line in text.splitlines() if line.startswith("# Response runbook for incident ")]
    assert titles and titles[0].startswith("# Response runbook for incident INC-")
    assert f"aws iam update-access-key --user-name christophe --access-key-id {ATTACKER_KEY} --status Inactive" in text
    assert "aws iam delete-user --user-name malicious-iam-user" in text


def test_runbook_for_a_compromised_key(session, found, capsys):
    scope = I.scope(session, access_key_id=ATTACKER_KEY)
    assert I.is_compromised(scope, found)
    I.print_runbook(scope, found)
    text = capsys.readouterr().out
    steps = [line for line in text.splitlines() if line.startswith("# ") and line[2].isdigit()]
    assert [s[2] for s in steps] == ["1", "2", "3", "4", "5"]
    assert f"aws iam update-access-key --user-name christophe --access-key-id {ATTACKER_KEY} --status Inactive" in text
    assert f"--user-name malicious-iam-user --access-key-id {NEW_KEY} --status Inactive" in text
    assert "aws iam create-access-key --user-name christophe" in text
    assert f"AttributeValue={ATTACKER_KEY}" in text
    assert f"aws iam delete-access-key --user-name christophe --access-key-id {ATTACKER_KEY}" in text
    assert f"git log --all -S {ATTACKER_KEY}" in text
    # A key with no findings is not judged compromised: no runbook unless the responder says so.
    quiet = I.IncidentScope(access_key_id="AKIAQUIETQUIETQUIET1", timeline=scope.timeline.iloc[0:0])
    assert not I.runbook(quiet, found)
    assert "AKIAQUIETQUIETQUIET1" in I.runbook(quiet, found, compromised=True).text


def test_plots_return_figures(session):
    scope = I.scope(session, access_key_id=ATTACKER_KEY)
    timeline = plots.incident_timeline(scope)
    assert isinstance(timeline, Figure)
    assert [t.get_text() for t in timeline.axes[0].get_yticklabels()] == ["iam", "s3"]  # s3: the backdoor key it created
    heat = plots.activity_heatmap(K.key_activity(session, [ATTACKER_KEY, NEW_KEY]))
    assert isinstance(heat, Figure) and heat.axes[0].get_ylabel() == "access key"
    assert plots.activity_heatmap(pd.DataFrame()) is None
