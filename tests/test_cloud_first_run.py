"""The first run on Athena: `athena ddl`'s defaults create what the engine queries, and miss no data."""

from __future__ import annotations

import re

import botocore.loaders
import pytest

from trailbook.cli import main
from trailbook.engines.athena import AthenaEngine


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch):
    for key in ("TRAILBOOK_ATHENA_TABLE", "TRAILBOOK_ATHENA_DATABASE", "TRAILBOOK_ATHENA_CATALOG", "TRAILBOOK_CONFIG"):
        monkeypatch.delenv(key, raising=False)


def _ddl(capsys, *args: str) -> str:
    assert main(["athena", "ddl", "--bucket", "my-trail-bucket", *args]) == 0
    return capsys.readouterr().out


def _created_table(text: str) -> tuple[str, str]:
    found = re.search(r"CREATE EXTERNAL TABLE IF NOT EXISTS `(\w+)`\.`(\w+)`", text)
    assert found, text[:300]
    return found.group(1), found.group(2)


def _property(text: str, key: str) -> str | None:
    found = re.search(rf"'{re.escape(key)}'='([^']*)'", text)
    return found.group(1) if found else None


def test_default_table_is_the_one_the_engine_queries(capsys):
    database, table = _created_table(_ddl(capsys))
    engine = AthenaEngine(connection=object())
    assert engine.table_sql == f'"awsdatacatalog"."{database}"."{table}"'


def test_the_database_is_created_first(capsys):
    text = _ddl(capsys, "--database", "security", "--accounts", "111122223333")
    statements = [s.strip() for s in text.split(";") if s.strip()]
    assert statements[0].splitlines()[-1] == "CREATE DATABASE IF NOT EXISTS `security`"
    assert _created_table(statements[1]) == ("security", "cloudtrail")
    assert len(statements) == 2


def test_without_regions_every_commercial_region_is_projected(capsys):
    # Read independently of trailbook: the regions of the `aws` partition in botocore's endpoint data.
    endpoints = botocore.loaders.Loader().load_data("endpoints")
    commercial = next(p for p in endpoints["partitions"] if p["partition"] == "aws")["regions"]
    projected = _property(_ddl(capsys, "--accounts", "111122223333"), "projection.region_partition.values")
    assert projected is not None and set(projected.split(",")) == set(commercial)
    assert {"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "af-south-1"} <= set(commercial)


def test_regions_given_narrow_the_projection(capsys):
    text = _ddl(capsys, "--accounts", "111122223333", "--regions", "eu-west-1", "us-east-1")
    assert _property(text, "projection.region_partition.values") == "eu-west-1,us-east-1"


def test_without_accounts_any_account_is_read_injected(capsys):
    text = _ddl(capsys)
    assert _property(text, "projection.account_partition.type") == "injected"
    assert _property(text, "projection.account_partition.values") is None
    assert "-- account_partition is injected" in text


def test_accounts_given_are_an_enum(capsys):
    text = _ddl(capsys, "--accounts", "111122223333", "444455556666")
    assert _property(text, "projection.account_partition.type") == "enum"
    assert _property(text, "projection.account_partition.values") == "111122223333,444455556666"
    assert "injected" not in text
