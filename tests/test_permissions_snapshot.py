"""Which IAM snapshot a report reads: a snapshot folder, a folder of snapshots, "auto" (only the
session source's own snapshot), and bad input."""

from __future__ import annotations

import pytest

from permissions_snapshot import write_test_snapshot
from trailbook.analyses import permissions as P


@pytest.fixture()
def snapshot(tmp_path):
    return write_test_snapshot(tmp_path)


def test_open_snapshot_paths(snapshot, tmp_path):
    assert P.open_snapshot(snapshot.path).path == snapshot.path
    assert P.open_snapshot(snapshot.path.parent).path == snapshot.path  # newest iam-* inside
    with pytest.raises(Exception, match="not an IAM snapshot"):
        P.open_snapshot(tmp_path / "nothing")
    with pytest.raises(P.PermissionsError, match="empty"):
        P.open_snapshot("  ")


def test_auto_snapshot_is_the_sources_own_only(snapshot, tmp_path):
    """A report on real logs must never fall back to another data set's (the demo's) IAM data."""
    import types

    from trailbook.sources import Prepared

    with pytest.raises(P.PermissionsError, match="needs an IAM snapshot"):
        P.open_snapshot("auto", session=None)
    with_own = types.SimpleNamespace(prepared=Prepared(tmp_path / "store", "x", None, snapshot.path))
    assert P.open_snapshot("auto", session=with_own).path == snapshot.path
    without = types.SimpleNamespace(prepared=Prepared(tmp_path / "store", "/var/log/cloudtrail", None, None))
    with pytest.raises(P.PermissionsError, match="needs an IAM snapshot"):
        P.open_snapshot("auto", session=without)
