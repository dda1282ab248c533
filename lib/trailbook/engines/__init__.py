"""Engines: where the catalog's SQL runs (local DuckDB, Athena, CloudTrail Lake)."""
