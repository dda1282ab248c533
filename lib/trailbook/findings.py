"""Findings: the one shape every detection returns, and its machine-readable forms.

Columns (in order): detection, severity, first_seen, last_seen, account_id, region,
principal_arn, access_key_id, source_ip, user_agent, event_names, event_count,
event_ids, mitre. `event_ids` holds at most `MAX_EVENT_IDS` supporting eventIDs;
`event_count` is always the true total. Times are ISO-8601 UTC text. Exports (JSON Lines and
CSV) hold the shared columns and one `details` object with the detection's own columns; JSON
Lines keep lists as lists, CSV joins them with ';' and writes `details` as JSON.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .contract import FINDING_COLUMNS, FINDINGS_MIME, MAX_EVENT_IDS, SEVERITIES

LIST_COLUMNS = ("event_names", "event_ids", "mitre")
TEXT_COLUMNS = tuple(c for c in FINDING_COLUMNS if c not in LIST_COLUMNS + ("event_count",))
__all__ = ["FINDINGS_MIME", "FINDING_COLUMNS", "MAX_EVENT_IDS", "SEVERITIES"]
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, float) and pd.isna(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):  # engines that return text (CloudTrail Lake) give JSON or Trino arrays
            try:
                return [str(v) for v in json.loads(text)]
            except ValueError:
                return [part.strip() for part in text[1:-1].split(",") if part.strip()]
        return [part for part in text.split(";") if part] if text else []
    if hasattr(value, "tolist"):
        value = value.tolist()
    return [str(v) for v in value if v is not None]


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat") and not isinstance(value, str):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    return text if text != "" else None


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FINDING_COLUMNS}).astype({"event_count": "int64"})


def normalize(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Coerce a detection's result (from any engine) to the finding shape. Extra columns are kept after."""
    if frame is None or frame.empty:
        base = empty()
        if frame is not None:
            for extra in frame.columns:
                if extra not in base.columns:
                    base[extra] = pd.Series(dtype="object")
        return base
    missing = [c for c in FINDING_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"not a findings table: missing columns {missing}")
    out = frame.copy()
    for column in LIST_COLUMNS:
        out[column] = [_as_list(v) for v in out[column]]
    out["event_ids"] = [ids[:MAX_EVENT_IDS] for ids in out["event_ids"]]
    for column in TEXT_COLUMNS:
        out[column] = [_as_text(v) for v in out[column]]
    out["event_count"] = pd.to_numeric(out["event_count"], errors="raise").fillna(0).astype("int64")
    bad = sorted(set(out["severity"]) - set(SEVERITIES))
    if bad:
        raise ValueError(f"unknown severities {bad}; expected one of {SEVERITIES}")
    ordered = list(FINDING_COLUMNS) + [c for c in out.columns if c not in FINDING_COLUMNS]
    return out[ordered].reset_index(drop=True)


def ending_in_window(frame: pd.DataFrame, start: dt.datetime) -> pd.DataFrame:
    """The findings whose `last_seen` is at or after `start`: those of a detection that read before its
    window (`lookback`) and belong to this report, not to the one before. A `last_seen` that does not
    read as a time is kept: a hostile timestamp must not make a finding disappear."""
    if frame.empty:
        return frame
    last = pd.to_datetime(frame["last_seen"], utc=True, errors="coerce", format="ISO8601")
    keep = last.isna() | (last >= pd.Timestamp(start).tz_convert("UTC"))
    return frame[keep.to_numpy()].reset_index(drop=True)


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [normalize(f) for f in frames if f is not None and not f.empty]
    if not frames:
        return empty()
    merged = pd.concat(frames, ignore_index=True)
    return sort(merged)


def sort(frame: pd.DataFrame) -> pd.DataFrame:
    """Most severe first, then earliest."""
    if frame.empty:
        return frame
    rank = frame["severity"].map(SEVERITY_RANK).fillna(-1)
    ordered = frame.assign(_rank=-rank).sort_values(["_rank", "first_seen", "detection"], kind="stable")
    return ordered.drop(columns="_rank").reset_index(drop=True)


def at_least(frame: pd.DataFrame, severity: str) -> pd.DataFrame:
    if severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITIES}")
    return frame[frame["severity"].map(SEVERITY_RANK) >= SEVERITY_RANK[severity]]


def counts_by_severity(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["severity"].value_counts().to_dict() if not frame.empty else {}
    return {s: int(counts.get(s, 0)) for s in reversed(SEVERITIES)}


def to_records(frame: pd.DataFrame) -> list[dict]:
    frame = normalize(frame)
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in row.items()})
    return records


def _plain(value: Any) -> Any:
    """A JSON-ready value: arrays as lists, numpy scalars as Python ones, times as ISO text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat()
    return value


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are values, never missing
        return False


def export_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The export shape: the shared columns, then `details` with this finding's own non-empty columns.

    A detection's own columns (trails, buckets, exposure, ...) would otherwise appear as null
    columns on every other detection's rows.
    """
    out = []
    for record in to_records(frame):
        row = {column: record[column] for column in FINDING_COLUMNS}
        details = dict(record["details"]) if isinstance(record.get("details"), dict) else {}
        for key, value in record.items():
            if key not in row and key != "details" and not _is_missing(value):
                details[key] = _plain(value)
        row["details"] = details
        out.append(row)
    return out


def write_jsonl(frame: pd.DataFrame, target: str | Path | io.TextIOBase) -> int:
    records = export_records(frame)
    text = "".join(json.dumps(r, sort_keys=False, default=str) + "\n" for r in records)
    if isinstance(target, (str, Path)):
        Path(target).write_text(text, encoding="utf-8")
    else:
        target.write(text)
    return len(records)


def write_csv(frame: pd.DataFrame, target: str | Path | io.TextIOBase) -> int:
    """The shared columns (lists joined by `;`), then `details` as JSON."""
    records = export_records(frame)
    flat = pd.DataFrame(records, columns=[*FINDING_COLUMNS, "details"])
    for column in LIST_COLUMNS:
        flat[column] = [";".join(v) for v in flat[column]]
    flat["details"] = [json.dumps(d, sort_keys=True, default=str) for d in flat["details"]]
    flat.to_csv(target, index=False)
    return len(flat)


def read_jsonl(source: str | Path) -> pd.DataFrame:
    """Findings written by `write_jsonl`, with `details` spread back into columns."""
    lines = [json.loads(line) for line in Path(source).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [{**{k: v for k, v in line.items() if k != "details"}, **(line.get("details") or {})} for line in lines]
    return normalize(pd.DataFrame(rows)) if rows else empty()
