"""The benchmark's data: `trailbook.demo.generate` output under benchmarks/data/ (git-ignored).

A data set is reused when its manifest says it was made with the same events, seed and
incidents, and its files are all there; otherwise it is generated again (in a child process,
so the generator's memory never counts against anything measured).

The `org-*` sets are `trailbook.demo.generate_org` output (issue 15): an organization's delivery
shape, 20 accounts x every region of the partition, a file per account, region and 5 minutes
(most files tiny). org-1m is one day (~88k files), org-10m ten days (~880k files), org-90d ninety
daily deliveries (day folders) for incremental runs.
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
ORG_MANIFEST = "org_manifest.json"
ORG_FORMAT = "trailbook-org/3"  # trailbook.demo.org's: a set made by another generator is made again
# label -> generate_org parameters
ORG_SIZES = {
    "org-100k": {"events": 100_000, "accounts": 20, "days": 1},
    "org-1m": {"events": 1_000_000, "accounts": 20, "days": 1},
    "org-10m": {"events": 10_000_000, "accounts": 20, "days": 10},
    "org-90d": {"events": 9_000_000, "accounts": 20, "days": 90},
}


@dataclass(frozen=True)
class Dataset:
    label: str
    root: Path  # the generate() (or generate_org()) output folder
    manifest_name: str = MANIFEST

    @property
    def cloudtrail(self) -> Path:
        return self.root / "cloudtrail"

    @property
    def records_glob(self) -> str:
        return str(self.cloudtrail / RECORDS_GLOB)

    def record_files(self) -> list[Path]:
        return sorted(self.cloudtrail.glob(RECORDS_GLOB))

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.root / self.manifest_name).read_text())

    @property
    def is_org(self) -> bool:
        return self.manifest_name == ORG_MANIFEST


def dataset(label: str) -> Dataset:
    if label in ORG_SIZES:
        return Dataset(label, DATA_DIR / label, ORG_MANIFEST)
    if label not in SIZES:
        raise ValueError(f"unknown size {label!r}; choose from {sorted(SIZES) + sorted(ORG_SIZES)}")
    return Dataset(label, DATA_DIR / f"demo-{label}")


def ensure(label: str, *, log=print) -> Dataset:
    """The data set for `label`, generated unless an identical one is already on disk."""
    data = dataset(label)
    if data.is_org:
        return _ensure_org(data, log)
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


def _ensure_org(data: Dataset, log) -> Dataset:
    wanted = ORG_SIZES[data.label]
    path = data.root / ORG_MANIFEST
    if path.is_file():
        manifest = json.loads(path.read_text())
        made_as = (manifest.get("format"), manifest.get("events_requested"), len(manifest.get("accounts", [])),
                   manifest.get("days"), manifest.get("seed"))
        same = made_as == (ORG_FORMAT, wanted["events"], wanted["accounts"], wanted["days"], SEED)
        if same and len(data.record_files()) == manifest.get("file_count"):
            log(f"[data] reusing {data.root}")
            return data
    log(f"[data] generating {data.label} ({wanted}) into {data.root} ...")
    code = ("from trailbook.demo import generate_org; "
            f"generate_org({str(data.root)!r}, seed={SEED}, **{wanted!r})")
    subprocess.run([sys.executable, "-c", code], check=True)
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
        "events_per_file_mean": round(manifest["event_count"] / len(files), 1) if files else 0,
        "gz_bytes_per_file_median": int(statistics.median(gz_sizes)) if gz_sizes else 0,
        "gz_bytes_per_file_max": max(gz_sizes, default=0),
        "window": manifest["window"],
    }
