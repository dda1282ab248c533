"""Publish a run: the manifest, the hashes, and the rename that makes it visible.

The run is built under a hidden `.<stamp>.partial-…` name in the output folder and renamed to
its dated name when complete, so a final name never holds a half-written run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import paths

RUN_STAMP_FORMAT = "%Y-%m-%dT%H%MZ"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def catalog_revision(root: Path | None = None) -> dict[str, Any]:
    """The query catalog's identity: a hash of every .sql file, and the git commit when there is one."""
    root = Path(root or paths.queries_dir())
    digest = hashlib.sha256()
    files = sorted(root.rglob("*.sql"))
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    out: dict[str, Any] = {"path": str(root), "queries": len(files), "content_sha256": digest.hexdigest(),
                           "git_revision": None, "git_dirty": None}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode == 0:
            out["git_revision"] = head.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "."],
                                   capture_output=True, text=True, timeout=10)
            out["git_dirty"] = bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    return out


def work_dir(out: Path, stamp: str) -> Path:
    """A fresh hidden folder for the run being built."""
    work = out / f".{stamp}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    return work


def clean_stale(out: Path) -> list[Path]:
    """Remove the `.partial` folders of runs whose process is gone (killed, or the machine restarted)."""
    import shutil

    removed = []
    for folder in out.glob(".*.partial-*"):
        try:
            pid = int(folder.name.rsplit(".partial-", 1)[1].split("-", 1)[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _final_dir(out_dir: Path, stamp: str) -> Path:
    candidate, n = out_dir / stamp, 1
    while candidate.exists():
        n += 1
        candidate = out_dir / f"{stamp}-{n}"
    return candidate


def file_hashes(work: Path) -> dict[str, dict[str, Any]]:
    files = sorted(p for p in work.rglob("*") if p.is_file())
    return {str(p.relative_to(work)): {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files}


def write_manifest(work: Path, manifest: dict[str, Any]) -> Path:
    """manifest.json with the SHA-256 of every file already in the run (the manifest's own is in SHA256SUMS)."""
    manifest["files"] = file_hashes(work)
    path = work / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def publish(work: Path, out: Path, stamp: str) -> Path:
    """Write SHA256SUMS and rename the finished run to its dated name."""
    sums = [f"{sha256_file(p)}  {p.relative_to(work)}" for p in sorted(work.rglob("*")) if p.is_file()]
    (work / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    final = _final_dir(out, stamp)
    os.rename(work, final)
    return final


def verify_run(run_dir: str | Path) -> list[str]:
    """Files whose SHA-256 no longer matches manifest.json (or that are missing); [] when intact."""
    root = Path(run_dir)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for name, entry in manifest["files"].items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{name}: changed")
    return problems


def iter_runs(out_dir: str | Path) -> Iterable[Path]:
    """Published run directories under out_dir, oldest first (temporary ones are hidden and skipped)."""
    root = Path(out_dir)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "manifest.json").is_file())
