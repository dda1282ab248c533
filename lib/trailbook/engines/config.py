"""Connection settings for the cloud engines, and the boto3 session they share.

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
role); trailbook never reads or stores secrets itself.

Every boto3 session an engine creates gets the read-only guard (only the allow-listed
operations of ``policy.ENGINE_OPERATIONS`` can be called) and then the functions registered
with ``add_session_hook`` (logging, custom endpoints, or canned AWS responses in tests).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .base import EngineError

# Settings each engine understands, with their defaults (None: no default).
SETTINGS: dict[str, dict[str, Any]] = {
    "athena": {
        "region": None,
        "profile": None,
        "work_group": None,  # pyathena's default: the caller's primary workgroup
        "s3_staging_dir": None,  # may be omitted when the workgroup enforces an output location
        "catalog": "awsdatacatalog",  # pyathena's default catalog_name
        "database": "default",  # pyathena's default schema_name
        "table": "cloudtrail",
        "layout": "trail",  # trail: the S3 trail table (ddl.py); lake: a federated Lake table (aws:cloudtrail)
        "poll_interval": 0.5,  # first wait between status checks, seconds
        "max_poll_interval": 5.0,  # backoff ceiling, seconds
        "timeout": 1800.0,  # seconds before StopQueryExecution
        "result_reuse_minutes": 0,  # >0 reuses a previous identical query's result up to this age
        "max_bytes_per_query": 0,  # >0 stops a query whose scan passes this many bytes
        "retry_attempts": 5,  # throttled API calls are retried this many times in all
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

# Always double-quoted when used; ':' admits the Lake federation database "aws:cloudtrail".
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:-]{0,254}$")
_CATALOG = re.compile(r"^[A-Za-z0-9_:-]{1,255}$")  # e.g. awsdatacatalog, or aws:cloudtrail for Lake federation


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
            raise EngineError(f"{engine} setting {key!r} must be an integer, not {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise EngineError(f"{engine} setting {key!r} must be a number, not {value!r}") from None
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
        raise EngineError(f"config file {file} does not exist")
    loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise EngineError(f"config file {file}: expected a mapping with sections {sorted(SETTINGS)}")
    section = loaded.get(engine) or {}
    if not isinstance(section, dict):
        raise EngineError(f"config file {file}: section {engine!r} must be a mapping")
    return dict(section)


def resolve(engine: str, options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The effective settings: defaults < environment < config file < keyword options. Unknown keys fail."""
    if engine not in SETTINGS:
        raise EngineError(f"no settings for engine {engine!r}")
    given = {k: v for k, v in options.items() if v is not None}
    config_file = given.pop("config_file", None) or (environ if environ is not None else os.environ).get("TRAILBOOK_CONFIG")
    layers = [from_environment(engine, environ)]
    if config_file:
        layers.append(from_file(engine, config_file))
    layers.append(given)
    merged: dict[str, Any] = {}
    for layer in layers:
        unknown = sorted(set(layer) - set(SETTINGS[engine]))
        if unknown:
            raise EngineError(f"unknown {engine} setting(s) {unknown}; known: {sorted(SETTINGS[engine])}")
        merged.update(layer)
    return {key: _coerce_setting(engine, key, merged.get(key)) for key in SETTINGS[engine]}


def identifier(value: str, what: str) -> str:
    """A validated SQL identifier (database, table): never pasted from user text unchecked."""
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise EngineError(f"{what} {value!r} is not a valid identifier (letters, digits, _, - and :)")
    return value


def catalog_name(value: str) -> str:
    if not isinstance(value, str) or not _CATALOG.match(value):
        raise EngineError(f"catalog {value!r} is not a valid data catalog name")
    return value


def quoted(*parts: str) -> str:
    """`"a"."b"."c"` from already-validated identifiers."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


# --- the boto3 session -----------------------------------------------------------------------

SessionHook = Callable[[Any, str], None]  # (boto3.Session, engine name) -> None
_SESSION_HOOKS: list[SessionHook] = []


def add_session_hook(hook: SessionHook) -> None:
    """Call `hook(session, engine_name)` on every boto3 session an engine creates from now on."""
    if hook not in _SESSION_HOOKS:
        _SESSION_HOOKS.append(hook)


def remove_session_hook(hook: SessionHook) -> None:
    if hook in _SESSION_HOOKS:
        _SESSION_HOOKS.remove(hook)


def boto3_session(engine: str, *, region: str | None, profile: str | None) -> Any:
    """A boto3 session from the standard credential chain, guarded read-only, with the hooks applied."""
    import boto3

    from ..policy import install_read_only_guard

    session = boto3.Session(region_name=region, profile_name=profile)
    if session.region_name is None:
        raise EngineError(f"the {engine} engine needs an AWS region: set region in its config, or AWS_REGION")
    install_read_only_guard(session, engine)
    for hook in list(_SESSION_HOOKS):
        hook(session, engine)
    return session


# --- polite polling ---------------------------------------------------------------------------

THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "Throttling",
                              "RequestLimitExceeded", "TooManyRequests"})


def backoff_delays(first: float, ceiling: float) -> Iterator[float]:
    """first, 1.5x, 2.25x, ... capped at `ceiling`: quick answers for short queries, few calls for long ones."""
    delay = max(first, 0.0)
    while True:
        yield delay
        delay = min(max(delay * 1.5, 0.01), max(ceiling, first))


def call_with_retry(call: Callable[..., Any], attempts: int, sleep: Callable[[float], None] = time.sleep,
                    **kwargs: Any) -> Any:
    """Call an AWS API, retrying throttling errors with jittered exponential backoff."""
    from botocore.exceptions import ClientError

    for attempt in range(1, max(attempts, 1) + 1):
        try:
            return call(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in THROTTLING_CODES or attempt >= attempts:
                raise
            sleep(min(20.0, 0.2 * 2 ** (attempt - 1)) * (1 + random.random()))
    raise AssertionError("unreachable")

