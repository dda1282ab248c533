"""Shared test helpers: build a local store from CloudTrail records and open a session on it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
QUERY_FIXTURES = FIXTURES / "queries"


def write_records(records: Iterable[dict], folder: Path, name: str = "events.json") -> Path:
    """Write records as one S3-delivery-shaped file ({"Records": [...]})."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"Records": list(records)}), encoding="utf-8")
    return path


def local_session(records: Iterable[dict], tmp: Path, *, start, end, catalog=None):
    """A session on the local engine over exactly these records."""
    from trailbook.engines.local import LocalEngine
    from trailbook.session import Session
    from trailbook.sources import prepare

    prepared = prepare(write_records(records, tmp / "src"), tmp / "store")
    return Session(LocalEngine(store=prepared.store), start=start, end=end, catalog=catalog, prepared=prepared)


@pytest.fixture(scope="session")
def catalog():
    from trailbook.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """The demo data at its default size, generated once per test session."""
    from trailbook import demo

    root = tmp_path_factory.mktemp("demo")
    demo.generate(root)
    return root


@pytest.fixture(autouse=True)
def aws_calls_are_read_only():
    """Fail any test in which trailbook's code made an AWS call the independent oracle calls a write."""
    import aws_oracle

    aws_oracle.install()
    before = len(aws_oracle.calls)
    yield aws_oracle.calls
    made = aws_oracle.calls[before:]
    del aws_oracle.calls[before:]
    bad = aws_oracle.violations(made)
    assert not bad, f"trailbook made AWS calls that are not read-only: {bad}"
