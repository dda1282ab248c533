"""Golden SQL: every catalog query exactly as each engine receives it.

tests/golden/<engine>/<name>.sql holds, for the sample parameter values below:
- local_trino: the catalog's Trino text rendered for the local engine,
- local_duckdb: that text translated to DuckDB (what DuckDB runs),
- athena: the text Athena receives (table "awsdatacatalog"."default"."cloudtrail"),
- lake: the text CloudTrail Lake receives (event data store EXAMPLE id below).
A reviewer reads these files to see what AWS will run. Regenerate after a deliberate change:

    TRAILBOOK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render_golden.py -q
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlglot

from trailbook.catalog import load_catalog
from trailbook.engines.athena import AthenaEngine
from trailbook.engines.lake import MAX_STATEMENT_CHARS, LakeEngine
from trailbook.engines.sql import partition_time_filter, scope_filter

GOLDEN = Path(__file__).parent / "golden"
ENGINES = ("local_trino", "local_duckdb", "athena", "lake")
UPDATE = os.environ.get("TRAILBOOK_UPDATE_GOLDEN") == "1"
REGENERATE = "TRAILBOOK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render_golden.py -q"
EDS_ID = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
CATALOG = load_catalog()
SAMPLE_TIMES = {"start": "2026-10-22T00:00:00Z", "end": "2026-10-29T00:00:00Z"}


class _LocalFragments:
    """The local engine's fragments, without opening a store."""

    name = "local"

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        return {"source": "cloudtrail", "time_filter": partition_time_filter(start, end) + scope_filter()}


def sample_values(query) -> dict:
    """Fixed values for every parameter without a default (timestamps: the demo's detection week)."""
    values = {}
    for name, param in query.params.items():
        if param.default is not None or param.type.startswith("list["):
            continue
        if param.type == "timestamp":
            if name in SAMPLE_TIMES:
                values[name] = SAMPLE_TIMES[name]
            elif name == query.window[0]:
                values[name] = "2026-10-01T00:00:00Z"
            else:
                values[name] = "2026-10-22T00:00:00Z"
        else:
            values[name] = {"account_id": "111122223333", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                            "arn": "arn:aws:iam::111122223333:user/example", "ip": "192.0.2.1",
                            "cidr": "192.0.2.0/24", "int": 1, "float": 1.0, "bool": True,
                            "region": "us-east-1"}.get(param.type, "example")
    return values


def rendered(name: str, engine: str) -> str:
    from trailbook.translate import to_duckdb

    query = CATALOG[name]
    values = sample_values(query)
    if engine in ("local_trino", "local_duckdb"):
        sql = query.render(_LocalFragments(), **values).sql
        return to_duckdb(sql) + "\n" if engine == "local_duckdb" else sql
    if engine == "athena":
        return query.render(AthenaEngine(connection=object()), **values).sql
    return query.render(LakeEngine(client=object(), event_data_store=EDS_ID), **values).sql


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch):
    for key in list(os.environ):
        if key.startswith("TRAILBOOK_ATHENA_") or key.startswith("TRAILBOOK_LAKE_") or key == "TRAILBOOK_CONFIG":
            monkeypatch.delenv(key)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_rendered_sql_matches_golden(name, engine):
    query = CATALOG[name]
    if engine == "lake" and "lake" not in query.engines:
        pytest.skip(f"{name} does not run on lake: {query.notes.get('lake')}")
    if engine == "athena" and "athena" not in query.engines:
        pytest.skip(f"{name} does not run on athena: {query.notes.get('athena')}")
    text = rendered(name, engine)
    path = GOLDEN / engine / f"{name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.relative_to(GOLDEN.parent.parent)}; regenerate with: {REGENERATE}"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} as rendered for {engine} differs from {path.name}; if the change is intended, regenerate "
        f"with: {REGENERATE}")


@pytest.mark.parametrize("name", sorted(n for n, q in CATALOG.items() if "athena" in q.engines))
def test_athena_rendering_parses_as_athena(name):
    sql = rendered(name, "athena")
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, sqlglot.exp.Query), f"{name}: not a single SELECT"
    # Every read of the fully qualified table is bounded by the partition predicate (the cost guard).
    source = '"awsdatacatalog"."default"."cloudtrail"'
    reads = sql.count(source)
    assert reads >= 1 and sql.count(f"{source} WHERE date_partition BETWEEN") == reads, name


@pytest.mark.parametrize("name", sorted(n for n, q in CATALOG.items() if "lake" in q.engines))
def test_lake_rendering_parses_as_trino_and_fits_lakes_limit(name):
    sql = rendered(name, "lake")
    # Lake's documented queries name the event data store bare (FROM <id>); sqlglot parses a hyphenated
    # name only when quoted, so quote it for the parse alone.
    assert f"FROM {EDS_ID}" in sql and f'"{EDS_ID}"' not in sql
    tree = sqlglot.parse_one(sql.replace(f"FROM {EDS_ID}", f'FROM "{EDS_ID}"'), read="trino")
    assert f'"{EDS_ID}"' in [t.sql(dialect="trino") for t in tree.find_all(sqlglot.exp.Table)]
    assert len(sql) <= MAX_STATEMENT_CHARS, (
        f"{name} is {len(sql):,} characters for Lake (limit {MAX_STATEMENT_CHARS:,}): shorten it, or leave lake "
        "out of its engines with notes: {lake: ...}")


def test_no_stale_golden_files():
    stale = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.glob("*/*.sql") if p.stem not in CATALOG)
    assert not stale, f"golden files for queries no longer in the catalog: {stale}; delete them"


def test_athena_text_is_local_text_with_the_table_name():
    for name, query in CATALOG.items():
        if "athena" in query.engines:
            local = rendered(name, "local_trino")
            assert rendered(name, "athena") == local.replace(" FROM cloudtrail WHERE ",
                                                             ' FROM "awsdatacatalog"."default"."cloudtrail" WHERE ')
