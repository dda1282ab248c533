"""The findings shape: normalisation from any engine's output, and its JSONL/CSV forms."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from trailbook import findings as F
from trailbook.catalog import FINDING_COLUMNS, MAX_EVENT_IDS


def _row(**overrides):
    row = {
        "detection": "root_activity", "severity": "high", "first_seen": "2026-10-22T01:00:00Z",
        "last_seen": "2026-10-22T01:05:00Z", "account_id": "111111111111", "region": "us-east-1",
        "principal_arn": "arn:aws:iam::111111111111:root", "access_key_id": None, "source_ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0", "event_names": np.array(["ConsoleLogin", "ListUsers"]), "event_count": 3,
        "event_ids": np.array(["a", "b", "c"]), "mitre": np.array(["T1078.004"]),
    }
    row.update(overrides)
    return row


def test_normalize_turns_arrays_into_lists_and_keeps_extra_columns():
    frame = pd.DataFrame([{**_row(), "trails": ["org-trail"]}])
    out = F.normalize(frame)
    assert list(out.columns[: len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    assert out.loc[0, "event_names"] == ["ConsoleLogin", "ListUsers"]
    assert out.loc[0, "event_count"] == 3
    assert "trails" in out.columns


def test_normalize_parses_text_arrays_from_text_engines():
    frame = pd.DataFrame([_row(event_names='["ConsoleLogin"]', event_ids="[a, b]", mitre="[T1078.004]",
                               event_count="7", first_seen=pd.Timestamp("2026-10-22 01:00:00"))])
    out = F.normalize(frame)
    assert out.loc[0, "event_names"] == ["ConsoleLogin"]
    assert out.loc[0, "event_ids"] == ["a", "b"]
    assert out.loc[0, "mitre"] == ["T1078.004"]
    assert out.loc[0, "event_count"] == 7
    assert out.loc[0, "first_seen"] == "2026-10-22T01:00:00Z"


def test_event_ids_are_capped_but_count_is_true():
    ids = [f"id-{i}" for i in range(MAX_EVENT_IDS + 10)]
    out = F.normalize(pd.DataFrame([_row(event_ids=ids, event_count=len(ids))]))
    assert len(out.loc[0, "event_ids"]) == MAX_EVENT_IDS
    assert out.loc[0, "event_count"] == MAX_EVENT_IDS + 10


def test_missing_columns_and_bad_severity_are_errors():
    with pytest.raises(ValueError, match="missing columns"):
        F.normalize(pd.DataFrame([{"detection": "x"}]))
    with pytest.raises(ValueError, match="unknown severities"):
        F.normalize(pd.DataFrame([_row(severity="urgent")]))


def test_sort_and_threshold():
    frame = F.concat([pd.DataFrame([_row(severity="low", first_seen="2026-10-21T00:00:00Z")]),
                      pd.DataFrame([_row(severity="critical")]), pd.DataFrame([_row(severity="medium")])])
    assert list(frame["severity"]) == ["critical", "medium", "low"]
    assert list(F.at_least(frame, "medium")["severity"]) == ["critical", "medium"]
    assert F.counts_by_severity(frame) == {"critical": 1, "high": 0, "medium": 1, "low": 1, "info": 0}


def test_jsonl_round_trip_and_csv(tmp_path):
    frame = F.normalize(pd.DataFrame([_row(), _row(severity="medium", access_key_id="AKIAIOSFODNN7EXAMPLE")]))
    path = tmp_path / "findings.jsonl"
    assert F.write_jsonl(frame, path) == 2
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    assert list(first)[: len(FINDING_COLUMNS)] == list(FINDING_COLUMNS)
    assert first["event_names"] == ["ConsoleLogin", "ListUsers"] and first["access_key_id"] is None
    back = F.read_jsonl(path)
    assert back.loc[1, "access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
    buffer = io.StringIO()
    F.write_csv(frame, buffer)
    csv = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert csv.loc[0, "event_names"] == "ConsoleLogin;ListUsers"


def test_empty_findings_have_the_columns():
    out = F.concat([])
    assert list(out.columns) == list(FINDING_COLUMNS) and out.empty


def test_exports_hold_the_shared_columns_and_one_details_object(tmp_path):
    import numpy as np

    trail = pd.DataFrame([_row(detection="cloudtrail_logging_disabled", trails=np.array(["t1", "t2"]))])
    bucket = pd.DataFrame([_row(detection="resource_policy_external_access", exposure="public",
                                grantees=["*"], succeeded=np.int64(1))])
    frame = F.concat([trail, bucket])
    assert {"trails", "exposure", "grantees", "succeeded"} <= set(frame.columns)  # in memory: flat
    path = tmp_path / "findings.jsonl"
    F.write_jsonl(frame, path)
    rows = {r["detection"]: r for r in map(json.loads, path.read_text().splitlines())}
    for row in rows.values():
        assert list(row) == [*FINDING_COLUMNS, "details"]  # no null columns from other detections
    assert rows["cloudtrail_logging_disabled"]["details"] == {"trails": ["t1", "t2"]}
    assert rows["resource_policy_external_access"]["details"] == {"exposure": "public", "grantees": ["*"],
                                                                   "succeeded": 1}
    back = F.read_jsonl(path)
    assert back.set_index("detection").loc["resource_policy_external_access", "exposure"] == "public"
    buffer = io.StringIO()
    F.write_csv(frame, buffer)
    csv = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert list(csv.columns) == [*FINDING_COLUMNS, "details"]
    assert json.loads(csv.set_index("detection").loc["cloudtrail_logging_disabled", "details"]) == \
        {"trails": ["t1", "t2"]}
