"""Typing engine results that arrive as text (CloudTrail Lake's rows, Athena's CSV arrays).

The model is PyAthena's `converter.py`: one converter per declared column type. A detection's
finding columns are known (event_count an integer, event_names/event_ids/mitre arrays, whose
Trino text form `[a, b]` is parsed); other columns are typed from the query's declared `columns`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..contract import FINDING_COLUMNS
from .base import EngineError

FINDING_TYPES = {"event_count": "int", "event_names": "list[string]", "event_ids": "list[string]",
                 "mitre": "list[string]"}
_ARRAY_TYPE = re.compile(r"^(?:list\[(.+)\]|array\s*[(<](.+)[)>])$")


def parse_text_array(text: Any) -> list | None:
    """A list from an array's text form: JSON (`["a","b"]`) or Trino's (`[a, b]`). Trino's form cannot
    carry elements that contain ', ' unambiguously; such values are split there (documented gap)."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        return list(text)
    if hasattr(text, "tolist") and not isinstance(text, str):  # a numpy array (already typed)
        return list(text.tolist())
    value = str(text).strip()
    if not (value.startswith("[") and value.endswith("]")):
        raise EngineError(f"expected an array, got {value[:80]!r}")
    try:
        parsed = json.loads(value)
        if isinstance(parsed, list):
            return parsed
    except ValueError:
        pass
    inner = value[1:-1].strip()
    return [] if not inner else [part.strip() for part in inner.split(", ")]


def _scalar_converter(type_name: str) -> Callable[[Any], Any]:
    t = type_name.strip().lower()
    if t in ("string", "varchar", "text", "json", "char"):
        return lambda v: v
    if t in ("int", "integer", "bigint", "smallint", "tinyint", "long"):
        return lambda v: None if v is None or v == "" else int(v)
    if t in ("float", "double", "real", "decimal", "number"):
        return lambda v: None if v is None or v == "" else float(v)
    if t in ("bool", "boolean"):
        def to_bool(v: Any) -> Any:
            if v is None or v == "":
                return None
            if str(v).lower() in ("true", "false"):
                return str(v).lower() == "true"
            raise EngineError(f"expected true or false, got {v!r}")
        return to_bool
    if t in ("timestamp", "date", "datetime"):
        def to_time(v: Any) -> Any:
            if v is None or v == "":
                return None
            stamp = pd.Timestamp(v)
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return to_time
    raise EngineError(f"unknown declared column type {type_name!r}")


def converter(type_name: str) -> Callable[[Any], Any]:
    match = _ARRAY_TYPE.match(type_name.strip().lower())
    if match or type_name.strip().lower() in ("array", "list"):
        inner = _scalar_converter((match.group(1) or match.group(2)) if match else "string")
        def to_list(v: Any) -> list | None:
            items = parse_text_array(v)
            if items is None:
                return None
            return [inner(x if not isinstance(x, (int, float)) else str(x)) if x is not None else None for x in items]
        return to_list
    return _scalar_converter(type_name)


def type_frame(frame: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Convert text columns to their declared types (detections' finding columns are known)."""
    types = dict(columns or {})
    if set(FINDING_COLUMNS) <= set(frame.columns):
        types = {**FINDING_TYPES, **types}
    out = frame.copy()
    for name, type_name in types.items():
        if name not in out.columns:
            continue
        convert = converter(type_name)
        try:
            values = [convert(v) for v in out[name]]
        except (ValueError, TypeError) as exc:
            raise EngineError(f"column {name!r} is declared {type_name} but holds {exc}") from exc
        if type_name.strip().lower() in ("int", "integer", "bigint", "smallint", "tinyint", "long"):
            out[name] = pd.array(values, dtype="Int64")
        else:
            out[name] = pd.Series(values, index=out.index, dtype="object")
    return out


def output_columns(sql: str) -> list[str]:
    """The statement's output column names, in order ([] when they cannot be known, e.g. `SELECT *`).

    Taken from the SQL, not the rows, so a column that is NULL in every row still exists.
    """
    import sqlglot

    try:
        tree = sqlglot.parse_one(sql, read="trino")
        names = tree.named_selects if isinstance(tree, sqlglot.exp.Query) else []
    except Exception:  # Lake will report the syntax error itself
        return []
    return [] if "*" in names else list(names)


def rows_to_frame(rows: Sequence[Sequence[Mapping[str, str]]], columns: Mapping[str, str] | None,
                  names: Sequence[str] = ()) -> pd.DataFrame:
    """Lake's QueryResultRows (each row a list of one-entry {column: text} maps) as a typed DataFrame.

    `names` are the expected output columns; a column absent from a row is NULL there.
    """
    names = list(names)
    records: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {}
        for cell in row:
            for key, value in cell.items():
                record[key] = value
                if key not in names:
                    names.append(key)
        records.append(record)
    if not names and columns:
        names = list(columns)
    frame = pd.DataFrame([[r.get(n) for n in names] for r in records], columns=names, dtype="object")
    return type_frame(frame, columns)
