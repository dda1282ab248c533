"""Which IAM snapshot a report reads, and which of its accounts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trailbook.iam.snapshot import Snapshot, SnapshotError, load_snapshot

from .inputs import PermissionsError

if TYPE_CHECKING:
    from trailbook.session import Session


def open_snapshot(iam_snapshot: str | os.PathLike, *, session: Session | None = None,
                  out_dir: str | os.PathLike | None = None, **collect_options: Any) -> Snapshot:
    """The IAM snapshot a notebook's ``iam_snapshot`` parameter names.

    ``"auto"`` (the notebooks' default): the snapshot that belongs to the session's data (a source
    that comes with one, such as the demo), otherwise an error asking for a snapshot, so a report
    on real logs never shows another data set's IAM data. A named source (``"demo"``): that
    source's snapshot. ``"live"``: collect now with the read-only collector into ``out_dir``
    (default ``<trailbook home>/iam``). A path: a snapshot directory (holding snapshot.json) or a
    folder of ``iam-*`` snapshots, of which the newest is used.
    """
    from trailbook import sources

    spec = os.fspath(iam_snapshot).strip() if iam_snapshot is not None else ""
    if not spec:
        raise PermissionsError('iam_snapshot is empty: give a snapshot directory, "auto" or "live"')
    if spec == "auto":
        prepared = getattr(session, "prepared", None)
        if prepared is not None and prepared.iam_snapshot is not None:
            return load_snapshot(prepared.iam_snapshot)
        raise PermissionsError(
            "this notebook needs an IAM snapshot of the accounts it reports on: set iam_snapshot to a folder "
            "written by `trailbook collect iam --out DIR`, or to \"live\" to collect now (read-only)"
        )
    if sources.is_named(spec):
        named = sources.NAMED[spec]()
        if named.iam_snapshot is None:
            raise PermissionsError(f"source {spec!r} comes with no IAM snapshot")
        return load_snapshot(named.iam_snapshot)
    if spec == "live":
        from trailbook import paths
        from trailbook.iam import collect_snapshot

        return load_snapshot(collect_snapshot(Path(out_dir) if out_dir else paths.home() / "iam", **collect_options))
    path = Path(spec).expanduser()
    if (path / "snapshot.json").is_file():
        return load_snapshot(path)
    if path.is_dir():
        candidates = sorted(p for p in path.glob("iam-*") if (p / "snapshot.json").is_file())
        if candidates:
            return load_snapshot(candidates[-1])
    raise SnapshotError(f'{path} is not an IAM snapshot (no snapshot.json, no iam-* snapshot inside); '
                        f'give a snapshot directory, "auto" or "live"')


def snapshot_accounts(snapshot: Snapshot, accounts: Sequence[str] = ()) -> list[str]:
    """The snapshot's accounts, narrowed to ``accounts`` when given (unknown ones raise)."""
    if not accounts:
        return list(snapshot.accounts)
    unknown = sorted(set(accounts) - set(snapshot.accounts))
    if unknown:
        raise PermissionsError(f"accounts {unknown} are not in snapshot {snapshot.path} ({list(snapshot.accounts)})")
    return [a for a in snapshot.accounts if a in set(accounts)]
