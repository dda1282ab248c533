"""Access keys: age buckets, keys whose user looks gone."""

from __future__ import annotations

import pytest

from hygiene_snapshot import ACCOUNT, COLLECTED, HEADER, A, write_test_snapshot
from trailbook.analyses import hygiene as H
from trailbook.iam.snapshot import AccountData, load_snapshot, write_snapshot


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_key_inventory_and_buckets(snapshot):
    keys = H.key_inventory(snapshot, inactive_days=45, accounts=[ACCOUNT]).set_index("access_key_id")
    assert keys.loc["AKIATWOKEYS000000OLD", "age_bucket"] == "> 1 year"
    assert keys.loc["AKIATWOKEYS000000NEW", "age_bucket"] == "1-30 days"
    assert keys.loc["AKIANOMFA00000000001", "age_bucket"] == "1-30 days"
    assert keys.loc["AKIATWOKEYS000000NEW", "user_left"] == False  # noqa: E712
    buckets = H.key_age_buckets(keys.reset_index())
    assert buckets.set_index("age_bucket")["keys"].to_dict() == {
        "< 1 day": 0, "1-30 days": 2, "30-90 days": 0, "90-365 days": 0, "> 1 year": 1}
    assert [H.age_bucket(d) for d in (0.5, 1, 29.9, 30, 90, 365, 366)] == [
        "< 1 day", "1-30 days", "1-30 days", "30-90 days", "90-365 days", "90-365 days", "> 1 year"]


def test_departed_user_keys(tmp_path):
    rows = [f"gone,{A}:user/gone,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2020-01-01T00:00:00+00:00,2021-05-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"]
    keys = [{"UserName": "gone", "AccessKeyId": "AKIAGONE000000000001", "Status": "Active", "CreateDate": "2020-01-01T00:00:00Z",
             "LastUsedDate": "2021-05-01T00:00:00Z", "LastUsedServiceName": "s3", "LastUsedRegion": "us-east-1"}]
    snap = load_snapshot(write_snapshot(tmp_path, {ACCOUNT: AccountData(credential_report_csv="\n".join([HEADER, *rows]),
                                                                         access_keys=keys)}, source="live", collected_at=COLLECTED))
    departed = H.departed_user_keys(H.key_inventory(snap))
    assert departed["access_key_id"].tolist() == ["AKIAGONE000000000001"]
