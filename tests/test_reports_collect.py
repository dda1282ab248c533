"""reports.collect: the run's findings, each once, even when two notebooks run the same detection."""

from __future__ import annotations

import pandas as pd

from trailbook.reports.collect import concat_findings


def _finding(detection: str, key: str | None, report: str) -> dict:
    return {"detection": detection, "severity": "critical", "first_seen": "2026-10-26T03:05:12Z",
            "last_seen": "2026-10-26T03:05:12Z", "account_id": "111111111111", "principal_arn": "arn:aws:iam::1:user/a",
            "access_key_id": key, "source_ip": "45.155.205.233", "event_count": 1, "event_ids": ["e1"],
            "event_names": ["PutBucketPolicy"], "region": "us-east-1", "user_agent": "aws-cli/2", "mitre": ["T1530"],
            "report": report}


def test_a_finding_two_notebooks_raise_is_one_finding_naming_both():
    first = pd.DataFrame([_finding("resource_policy_external_access", "AKIAEXAMPLE", "key_anomalies"),
                          _finding("root_activity", None, "key_anomalies")])
    second = pd.DataFrame([_finding("resource_policy_external_access", "AKIAEXAMPLE", "unused_permissions"),
                           _finding("root_activity", None, "unused_permissions"),
                           _finding("resource_policy_external_access", "AKIAOTHER", "unused_permissions")])
    out = concat_findings([first, second])
    got = sorted(zip(out["detection"], out["access_key_id"].fillna(""), out["report"]))
    assert got == [("resource_policy_external_access", "AKIAEXAMPLE", "key_anomalies, unused_permissions"),
                   ("resource_policy_external_access", "AKIAOTHER", "unused_permissions"),
                   ("root_activity", "", "key_anomalies, unused_permissions")]


def test_no_findings_is_an_empty_frame_with_a_report_column():
    out = concat_findings([pd.DataFrame(), pd.DataFrame()])
    assert len(out) == 0 and "report" in out.columns
