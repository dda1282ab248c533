"""Typed query parameters: coerce user input, validate it, render it as a SQL literal.

This module is the only place a value becomes SQL text. Every literal goes
through `sql_string` (or is a number or a timestamp built from validated parts),
so user input is never pasted into a query. The rendered SQL is Trino's; the
local engine translates it like any other query text.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError

MAX_STRING_LENGTH = 1024  # Athena's limit for one execution parameter


class ParameterError(UsageError):
    """A parameter value (or declaration) is invalid. The message names the parameter."""


# Unicode categories that never belong in a query value: controls, format characters
# (bidi overrides, zero-width joiners), surrogates, private use and unassigned.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Compatibility forms that NFKC folds into SQL punctuation (fullwidth quote, etc.).
_SQL_PUNCTUATION = set("'\";\\`")


def _check_text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise ParameterError(f"{what}: expected text, got {type(value).__name__}")
    if len(value) > MAX_STRING_LENGTH:
        raise ParameterError(f"{what}: longer than {MAX_STRING_LENGTH} characters")
    for ch in value:
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise ParameterError(f"{what}: contains a control or invisible character U+{ord(ch):04X}")
        if ch not in _SQL_PUNCTUATION and set(unicodedata.normalize("NFKC", ch)) & _SQL_PUNCTUATION:
            raise ParameterError(f"{what}: contains U+{ord(ch):04X}, a look-alike of SQL punctuation")
    return value


def sql_string(value: str, what: str = "value") -> str:
    """The one escaping path: a validated string as a single-quoted SQL literal.

    Trino and DuckDB both read a doubled quote as a quote and give backslash no
    meaning inside a standard string literal, so doubling is complete.
    """
    return "'" + _check_text(value, what).replace("'", "''") + "'"


# --- identifiers ------------------------------------------------------------------------

# Database and table names: always double-quoted when used; ':' admits Lake federation's "aws:cloudtrail".
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:-]{0,254}$")
_CATALOG = re.compile(r"^[A-Za-z0-9_:-]{1,255}$")  # e.g. awsdatacatalog, or aws:cloudtrail


def identifier(value: Any, what: str) -> str:
    """A validated SQL identifier (database, table, data catalog)."""
    pattern = _CATALOG if what == "catalog" else _IDENTIFIER
    if not isinstance(value, str) or not pattern.match(value):
        raise ParameterError(f"{what} {value!r} is not a valid identifier (letters, digits, _, - and :)")
    return value


def quoted_identifier(*parts: str) -> str:
    """`"a"."b"."c"` from validated identifiers: the identifier form of the one escaping path."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


# --- timestamps -------------------------------------------------------------------------

_RELATIVE = re.compile(r"^\s*(now)?\s*(?:([-+])\s*(\d+)\s*([dhm]))?\s*$", re.IGNORECASE)


def parse_timestamp(value: Any, what: str = "timestamp", now: dt.datetime | None = None) -> dt.datetime:
    """A UTC-aware datetime from a datetime, date, ISO-8601 text, 'now' or 'now-7d' / '-7d'."""
    if isinstance(value, dt.datetime):
        ts = value
    elif isinstance(value, dt.date):
        ts = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        rel = _RELATIVE.match(text)
        if text and rel and (rel.group(1) or rel.group(2)):
            base = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
            if rel.group(2):
                amount = int(rel.group(3)) * (1 if rel.group(2) == "+" else -1)
                unit = {"d": "days", "h": "hours", "m": "minutes"}[rel.group(4).lower()]
                base = base + dt.timedelta(**{unit: amount})
            return base.astimezone(dt.timezone.utc)
        try:
            ts = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ParameterError(
                f"{what}: {value!r} is not an ISO-8601 time "
                "(e.g. 2026-10-22 or 2026-10-22T06:00:00Z), 'now' or 'now-7d'"
            ) from None
    elif hasattr(value, "to_pydatetime"):  # pandas Timestamp
        ts = value.to_pydatetime()
    else:
        raise ParameterError(f"{what}: expected a time, got {type(value).__name__}")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return ts.astimezone(dt.timezone.utc)


def iso(ts: dt.datetime) -> str:
    """CloudTrail's own time format: the store's eventtime compares as text against it."""
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp_literal(ts: dt.datetime) -> str:
    return "TIMESTAMP '" + ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + "'"


# --- types ------------------------------------------------------------------------------

_PATTERNS = {
    "account_id": (re.compile(r"^\d{12}$"), "a 12-digit AWS account id"),
    "arn": (re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:[A-Za-z0-9+=,.@_/:*-]{1,900}$"), "an ARN"),
    "access_key_id": (re.compile(r"^(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{12,124}$"), "an access key id (AKIA…/ASIA…)"),
    "region": (re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$"), "an AWS region name"),
    "identifier": (re.compile(r"^[A-Za-z0-9+=,.@_/:-]{1,256}$"), "a name of letters, digits and +=,.@_/:-"),
    "org_id": (re.compile(r"^o-[a-z0-9]{10,32}$"), "an AWS Organizations id (o-…)"),
}


@dataclass(frozen=True)
class ParamType:
    name: str
    coerce: Callable[[Any, str], Any]
    render: Callable[[Any], str]


def _coerce_string(value: Any, what: str) -> str:
    return _check_text(value if isinstance(value, str) else str(value), what)


def _pattern(kind: str) -> Callable[[Any, str], str]:
    regex, label = _PATTERNS[kind]

    def coerce(value: Any, what: str) -> str:
        text = _coerce_string(value, what).strip()
        if not regex.match(text):
            raise ParameterError(f"{what}: {value!r} is not {label}")
        return text

    return coerce


def _coerce_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ParameterError(f"{what}: expected an integer, got a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ParameterError(f"{what}: expected an integer, got {value!r}")
        return int(value)
    try:
        return int(str(value).strip(), 10)
    except ValueError:
        raise ParameterError(f"{what}: expected an integer, got {value!r}") from None


def _coerce_float(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{what}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ParameterError(f"{what}: expected a finite number")
    return number


def _coerce_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ParameterError(f"{what}: expected true or false, got {value!r}")


def _coerce_ip(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_address(_coerce_string(value, what).strip()))
    except ValueError:
        raise ParameterError(f"{what}: {value!r} is not an IP address") from None


def _coerce_cidr(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_network(_coerce_string(value, what).strip(), strict=False))
    except ValueError:
        raise ParameterError(f"{what}: {value!r} is not a CIDR range") from None


def _coerce_timestamp(value: Any, what: str) -> dt.datetime:
    return parse_timestamp(value, what)


SCALARS: dict[str, ParamType] = {
    "string": ParamType("string", _coerce_string, sql_string),
    "int": ParamType("int", _coerce_int, lambda v: str(int(v))),
    "float": ParamType("float", _coerce_float, lambda v: repr(float(v))),
    "bool": ParamType("bool", _coerce_bool, lambda v: "TRUE" if v else "FALSE"),
    "timestamp": ParamType("timestamp", _coerce_timestamp, timestamp_literal),
    "ip": ParamType("ip", _coerce_ip, sql_string),
    "cidr": ParamType("cidr", _coerce_cidr, sql_string),
    **{kind: ParamType(kind, _pattern(kind), sql_string) for kind in _PATTERNS},
}
_SQL_ELEMENT_TYPE = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "timestamp": "TIMESTAMP"}


def _split_list(value: Any, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    raise ParameterError(f"{what}: expected a list or comma-separated text, got {type(value).__name__}")


def type_names() -> list[str]:
    return sorted(SCALARS) + sorted(f"list[{name}]" for name in SCALARS if name != "timestamp")


def coerce(type_name: str, value: Any, what: str = "value") -> Any:
    """Validate `value` as `type_name` and return its canonical Python form."""
    if type_name.startswith("list[") and type_name.endswith("]"):
        inner = SCALARS.get(type_name[5:-1])
        if inner is None:
            raise ParameterError(f"{what}: unknown parameter type {type_name!r}")
        return tuple(inner.coerce(item, f"{what}[{i}]") for i, item in enumerate(_split_list(value, what)))
    scalar = SCALARS.get(type_name)
    if scalar is None:
        raise ParameterError(f"{what}: unknown parameter type {type_name!r}")
    if value is None:
        raise ParameterError(f"{what}: a value is required")
    return scalar.coerce(value, what)


def render(type_name: str, value: Any) -> str:
    """The SQL literal for an already-coerced value. Lists render as typed ARRAYs."""
    if type_name.startswith("list["):
        inner_name = type_name[5:-1]
        inner = SCALARS[inner_name]
        if not value:
            return f"CAST(ARRAY[] AS ARRAY({_SQL_ELEMENT_TYPE.get(inner_name, 'VARCHAR')}))"
        return "ARRAY[" + ", ".join(inner.render(item) for item in value) + "]"
    return SCALARS[type_name].render(value)


def is_known_type(type_name: str) -> bool:
    if type_name.startswith("list[") and type_name.endswith("]"):
        return type_name[5:-1] in SCALARS and type_name != "list[timestamp]"
    return type_name in SCALARS


@dataclass(frozen=True)
class Param:
    """A declared query parameter."""

    name: str
    type: str
    description: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = field(default_factory=tuple)

    def coerce(self, value: Any) -> Any:
        typed = coerce(self.type, value, self.name)
        for item in typed if isinstance(typed, tuple) else (typed,):
            if self.minimum is not None and isinstance(item, (int, float)) and item < self.minimum:
                raise ParameterError(f"{self.name}: {item} is below the minimum {self.minimum}")
            if self.maximum is not None and isinstance(item, (int, float)) and item > self.maximum:
                raise ParameterError(f"{self.name}: {item} is above the maximum {self.maximum}")
            if self.choices and item not in self.choices:
                raise ParameterError(f"{self.name}: {item!r} is not one of {list(self.choices)}")
        return typed

    def render(self, value: Any) -> str:
        return render(self.type, value)
