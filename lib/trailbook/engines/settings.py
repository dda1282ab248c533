"""Connection settings for the cloud engines: the one reader of trailbook's config file.

Settings come from three places; a later one wins:

1. the environment: ``AWS_PROFILE``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (the standard
   boto3 chain), and ``TRAILBOOK_<ENGINE>_<SETTING>`` for any setting below, e.g.
   ``TRAILBOOK_ATHENA_WORK_GROUP=security``, ``TRAILBOOK_ATHENA_S3_STAGING_DIR=s3://bucket/prefix/``,
   ``TRAILBOOK_LAKE_EVENT_DATA_STORE=<eds id or arn>``;
2. a YAML file (``config_file=`` or ``TRAILBOOK_CONFIG``) with one section per engine::

       athena:
         region: eu-west-1
         work_group: security
         s3_staging_dir: s3://my-athena-results/trailbook/
         database: security
         table: cloudtrail
       lake:
         region: eu-west-1
         event_data_store: arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/EXAMPLE-...

3. keyword arguments (a notebook's ``config`` section arrives here too).

Credentials always come from the standard boto3 chain (profile, environment, SSO, instance
role); trailbook never reads or stores secrets itself. The boto3 session, its read-only guard
and the retry policy are `trailbook.aws`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import UsageError

# The Athena table's defaults, shared with `trailbook athena ddl` so its table is the one queried.
DEFAULT_ATHENA_DATABASE = "default"  # pyathena's default schema_name
DEFAULT_ATHENA_TABLE = "cloudtrail"

# Settings each engine understands, with their defaults (None: no default).
SETTINGS: dict[str, dict[str, Any]] = {
    "athena": {
        "region": None,
        "profile": None,
        "work_group": None,  # None: Athena's default workgroup, primary
        "s3_staging_dir": None,  # may be omitted when the workgroup has an output location
        "catalog": "awsdatacatalog",  # pyathena's default catalog_name
        "database": DEFAULT_ATHENA_DATABASE,
        "table": DEFAULT_ATHENA_TABLE,
        "layout": "trail",  # trail: the S3 trail table (ddl.py); lake: a federated Lake table (aws:cloudtrail)
        "poll_interval": 0.5,  # first wait between status checks, seconds
        "max_poll_interval": 5.0,  # backoff ceiling, seconds
        "timeout": 1800.0,  # seconds before StopQueryExecution
        "result_reuse_minutes": 0,  # >0 reuses a previous identical query's result up to this age
        "max_bytes_per_query": 0,  # >0 stops a query whose scan passes this many bytes
        "retry_attempts": 5,  # throttled API calls are retried this many times in all
        # Opt-in, and the only setting that writes: `shared_scan` materializes the window once (CTAS to
        # Parquet in the result location) and drops it afterwards. Off, the engine is strictly read-only.
        "one_scan": False,
    },
    "lake": {
        "region": None,
        "profile": None,
        "event_data_store": None,  # id or ARN (required)
        "owner_account_id": None,  # EventDataStoreOwnerAccountId, for a delegated administrator
        "poll_interval": 1.0,
        "max_poll_interval": 10.0,
        "timeout": 1800.0,
        "max_results": 1000,  # GetQueryResults page size (1..1000)
        "max_bytes_per_query": 0,
        "retry_attempts": 5,
    },
}

def _coerce_setting(engine: str, key: str, value: Any) -> Any:
    default = SETTINGS[engine][key]
    if value is None or value == "":
        return default
    if isinstance(default, bool):
        return str(value).strip().lower() in ("1", "true", "yes")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise UsageError(f"{engine} setting {key!r} must be an integer, not {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise UsageError(f"{engine} setting {key!r} must be a number, not {value!r}") from None
    return str(value)


def from_environment(engine: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key in SETTINGS[engine]:
        name = f"TRAILBOOK_{engine.upper()}_{key.upper()}"
        if env.get(name):
            out[key] = env[name]
    if "region" not in out and (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        out["region"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if "profile" not in out and env.get("AWS_PROFILE"):
        out["profile"] = env["AWS_PROFILE"]
    return out


def from_file(engine: str, path: str | Path) -> dict[str, Any]:
    import yaml

    file = Path(path).expanduser()
    if not file.exists():
        raise UsageError(f"config file {file} does not exist")
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"config file {file} cannot be read as YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"config file {file}: expected a mapping with sections {sorted(SETTINGS)}")
    section = loaded.get(engine) or {}
    if not isinstance(section, dict):
        raise UsageError(f"config file {file}: section {engine!r} must be a mapping")
    return dict(section)


def resolve(engine: str, options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The effective settings: defaults < environment < config file < keyword options. Unknown keys fail."""
    if engine not in SETTINGS:
        raise UsageError(f"no settings for engine {engine!r}")
    given = {k: v for k, v in options.items() if v is not None}
    env = environ if environ is not None else os.environ
    config_file = given.pop("config_file", None) or env.get("TRAILBOOK_CONFIG")
    layers = [from_environment(engine, environ)]
    if config_file:
        layers.append(from_file(engine, config_file))
    layers.append(given)
    merged: dict[str, Any] = {}
    for layer in layers:
        unknown = sorted(set(layer) - set(SETTINGS[engine]))
        if unknown:
            raise UsageError(f"unknown {engine} setting(s) {unknown}; known: {sorted(SETTINGS[engine])}")
        merged.update(layer)
    return {key: _coerce_setting(engine, key, merged.get(key)) for key in SETTINGS[engine]}
