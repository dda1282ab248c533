"""The benchmark's data: `trailbook.demo.generate` output under benchmarks/data/ (git-ignored).

A data set is reused when its manifest says it was made with the same events, seed and
incidents, and its files are all there; otherwise it is generated again (in a child process,
so the generator's memory never counts against anything measured).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
MANIFEST = "demo_manifest.json"
# CloudTrail log files only: the digest files live under CloudTrail-Digest/ and do not match.
RECORDS_GLOB = "AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"
SEED = 7

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}  # 10k: harness smoke tests only


@dataclass(frozen=True)
class Dataset:
    label: str
    root: Path  # the generate() output folder

    @property
    def cloudtrail(self) -> Path:
        return self.root / "cloudtrail"

    @property
    def records_glob(self) -> str:
        return str(self.cloudtrail / RECORDS_GLOB)

    def record_files(self) -> list[Path]:
        return sorted(self.cloudtrail.glob(RECORDS_GLOB))

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.root / MANIFEST).read_text())


def dataset(label: str) -> Dataset:
    if label not in SIZES:
        raise ValueError(f"unknown size {label!r}; choose from {sorted(SIZES)}")
    return Dataset(label, DATA_DIR / f"demo-{label}")


def ensure(label: str, *, log=print) -> Dataset:
    """The data set for `label`, generated unless an identical one is already on disk."""
    data = dataset(label)
    events = SIZES[label]
    if _is_current(data, events):
        log(f"[data] reusing {data.root} ({events:,} background events)")
        return data
    log(f"[data] generating {events:,} events into {data.root} ...")
    code = (
        "import sys; from trailbook import demo; "
        f"demo.generate({str(data.root)!r}, seed={SEED}, events={events}, incidents=True)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    if not _is_current(data, events):
        raise RuntimeError(f"generation of {data.root} did not produce the expected files")
    return data


def _is_current(data: Dataset, events: int) -> bool:
    path = data.root / MANIFEST
    if not path.is_file():
        return False
    manifest = json.loads(path.read_text())
    if (manifest.get("events_requested"), manifest.get("seed"), manifest.get("incidents_enabled")) != (
            events, SEED, True):
        return False
    # file_count is the Records files only (the digest is listed apart), as the glob finds them.
    return len(data.record_files()) == manifest.get("file_count")

def describe(data: Dataset) -> dict[str, Any]:
    """Size facts for the report: files, events, bytes, events per file."""
    manifest = data.manifest()
    files = data.record_files()
    gz_sizes = [f.stat().st_size for f in files]
    return {
        "label": data.label,
        "root": str(data.root),
        "events_requested": manifest["events_requested"],
        "event_count": manifest["event_count"],
        "record_files": len(files),
        "bytes_compressed": sum(gz_sizes),
        "bytes_uncompressed_manifest": manifest.get("bytes_uncompressed"),
        "gz_bytes_per_file_median": int(statistics.median(gz_sizes)) if gz_sizes else 0,
        "gz_bytes_per_file_max": max(gz_sizes, default=0),
        "window": manifest["window"],
    }
