"""Credential material: the final scan of the run (a safety net), and the findings it becomes.

Secrets are masked on the data first (`trailbook.mask`, in `Session.run`). Whatever still reaches a
file of the run is masked there, in place, by the same patterns. Neither refuses the run: an
attacker who can write a string into an event must not be able to suppress the report. Each piece
of credential material becomes a critical finding of its own, so the run reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import findings as F
from .. import mask

DETECTION = "credential_material_in_cloudtrail"
MITRE = ["T1552"]  # Unsecured Credentials
# What the index says about this check (as the catalog headers say it for SQL detections).
CHECK_INFO = {
    "title": "Credential material recorded in CloudTrail",
    "description": "A secret access key, session token or password appeared in an event (a user agent, request "
                   "parameters, an error message): anyone who can read the trail can use it. It is masked in "
                   "every output of this run.",
    "remediation": "Treat the credential as leaked: deactivate or rotate it, revoke its sessions, find the client "
                   "that put it in a request, and restrict who can read the trail's bucket.",
    "remediation_docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html",
    "mitre": MITRE, "references": [], "cis": "",
}
TEXT_SUFFIXES = (".ipynb", ".html", ".json", ".jsonl", ".csv", ".txt", ".svg")


@dataclass(frozen=True)
class FileHit:
    """Credential material the final scan found (and masked) in one file of the run."""

    path: str
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind}


def mask_files(root: Path, files: Iterable[Path] | None = None) -> list[FileHit]:
    """Mask credential material in every text file under root, in place; what was found, per file and kind."""
    chosen = sorted(files) if files is not None else sorted(p for p in root.rglob("*") if p.is_file())
    hits: list[FileHit] = []
    for path in chosen:
        if path.suffix not in TEXT_SUFFIXES:
            continue  # images are base64 inside the pages, which are scanned; raw bytes hold no event text
        text = path.read_text(encoding="utf-8", errors="replace")
        found: list[mask.Hit] = []
        masked = mask.mask_text(text, str(path.relative_to(root)), found)
        if found:
            path.write_text(masked, encoding="utf-8")
            hits.extend(FileHit(str(path.relative_to(root)), kind) for kind in mask.kinds(found))
    return hits


def mask_record(value: Any) -> tuple[Any, list[mask.Hit]]:
    """A manifest part (parameters, queries as run) with credential material masked, and what was masked."""
    found: list[mask.Hit] = []
    return mask.mask_value(value, "", found), found


def _finding(field: str, kind: str, count: int, reports: str, how: str, window: tuple[str, str]) -> dict[str, Any]:
    return {
        "detection": DETECTION, "severity": "critical", "first_seen": window[0], "last_seen": window[1],
        "account_id": None, "region": None, "principal_arn": None, "access_key_id": None, "source_ip": None,
        "user_agent": None, "event_names": [], "event_count": count, "event_ids": [], "mitre": MITRE,
        "title": f"credential material in CloudTrail field {field}", "field": field, "kind": kind,
        "found_by": how, "report": reports,
    }


def findings(masked_by_notebook: Mapping[str, Mapping[str, Any]], file_hits: Iterable[FileHit],
             record_hits: Iterable[mask.Hit], window: tuple[str, str]) -> pd.DataFrame:
    """One critical finding per field that held credential material (values never included)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for notebook, summary in masked_by_notebook.items():
        for field, count in (summary.get("by_field") or {}).items():
            row = rows.setdefault((field, "data"), _finding(field, ", ".join(summary.get("kinds") or []) or "secret",
                                                           0, notebook, "masked on the data", window))
            row["event_count"] += int(count)
            if notebook not in row["report"].split(", "):
                row["report"] += f", {notebook}"
    for hit in file_hits:
        key = (f"(unknown: found in {hit.path})", "scan")
        row = rows.setdefault(key, _finding(key[0], hit.kind, 0, "run", "the final scan of the run", window))
        row["event_count"] += 1
    for record_hit in record_hits:
        key = (f"(unknown: a report parameter or query, at {record_hit.where or 'top level'})", "record")
        row = rows.setdefault(key, _finding(key[0], record_hit.kind, 0, "run", "the scan of the manifest", window))
        row["event_count"] += 1
    if not rows:
        return F.empty().assign(report=pd.Series(dtype=object))
    return F.normalize(pd.DataFrame(list(rows.values())))


def summary(results: Iterable[Any]) -> dict[str, Any]:
    """What the sessions masked, for the manifest: counts by notebook and field, never the values."""
    per_notebook = {r.name: r.masked for r in results if r.masked and r.masked.get("total")}
    return {"total": sum(int(m.get("total") or 0) for m in per_notebook.values()), "by_notebook": per_notebook}
