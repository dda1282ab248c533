"""The detections that are not catalog queries, for `trailbook findings`: each runs when its input
exists, and says which input is missing when it does not.

- country of sign-in (``console_login_outside_allowed_countries``): the allowed countries and a
  MaxMind GeoIP database (``logins``);
- credential hygiene (the CIS credential checks and guardrail posture): an IAM snapshot, whose
  credential report the CIS checks read (``hygiene``);
- unused permissions (over-privileged and inactive principals): an IAM snapshot (``permissions``).

The exposure detections (catalog tag ``resource_exposure``) are catalog queries, run here through
``permissions.exposure`` as the unused_permissions notebook runs them: the trusted set is the
accounts seen in the window, the IAM snapshot's accounts when there is one, and ``trusted_accounts``.
The thresholds are the notebooks' defaults, so the command line finds what a report finds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import findings as F
from .. import params as P
from ..errors import UsageError
from ..geoip import GeoIP, GeoIPError
from ..iam.snapshot import CREDENTIAL_REPORT_CSV, Snapshot, SnapshotError
from . import hygiene, logins, permissions
from .permissions.exposure import TAG as EXPOSURE_TAG

if TYPE_CHECKING:
    from ..session import Session

COUNTRY, HYGIENE, PERMISSIONS = "country of sign-in", "credential hygiene", "unused permissions"
# Each family's detections: what --detection may name, and what a skip line lists.
DETECTIONS: dict[str, tuple[str, ...]] = {
    COUNTRY: (logins.COUNTRY_DETECTION,),
    HYGIENE: tuple(c[0] for c in hygiene.CHECKS.values()) + tuple(p[0] for p in hygiene.POSTURE_DETECTIONS.values()),
    PERMISSIONS: (permissions.DETECTION_OVER_PRIVILEGED, permissions.DETECTION_INACTIVE),
}
# The notebooks' parameter defaults (credential_hygiene, unused_permissions); tests/test_cli_python_side.py
# checks they still agree with the notebooks' parameters cells.
HYGIENE_DAYS = {"inactive_days": 45, "rotation_days": 90, "root_recent_days": 7}
PERMISSIONS_DAYS = {"unused_days": 90, "inactive_days": 90}


@dataclass(frozen=True)
class Inputs:
    """What the Python-side detections read; None or empty when not given."""

    snapshot: Snapshot | None = None
    no_snapshot: str = "no IAM snapshot (give --iam-snapshot DIR, written by `trailbook collect iam`)"
    geoip_db: str = ""
    allowed_countries: tuple[str, ...] = ()
    trusted_accounts: tuple[str, ...] = ()
    auto_snapshot: bool = False  # take the source's own snapshot, once the source is prepared

    def with_source(self, source_snapshot: Path | None) -> Inputs:
        """With `auto`, the snapshot that came with the source (the demo's), if any."""
        if not self.auto_snapshot or source_snapshot is None:
            return self
        return dataclasses.replace(self, snapshot=_snapshot(str(source_snapshot)), no_snapshot="", auto_snapshot=False)


def names() -> set[str]:
    return {name for family in DETECTIONS.values() for name in family}


def open_inputs(*, iam_snapshot: str = "auto", geoip_db: str = "", allowed_countries: Sequence[str] | str = (),
                trusted_accounts: Sequence[str] | str = ()) -> Inputs:
    """The inputs, checked before anything runs: a snapshot, database or list that was given but is
    unusable is a usage error. ``auto`` is the source's own snapshot (see `Inputs.with_source`)."""
    countries = logins._check_countries(allowed_countries)  # a ParameterError names allowed_countries
    trusted = P.coerce("list[account_id]", trusted_accounts or (), "trusted_accounts")
    if geoip_db:
        try:
            GeoIP(geoip_db).close()
        except GeoIPError as exc:
            raise UsageError(f"--geoip-db: {exc}") from None
    spec = (iam_snapshot or "auto").strip()
    if spec == "auto":
        return Inputs(geoip_db=geoip_db, allowed_countries=countries, trusted_accounts=trusted, auto_snapshot=True)
    return Inputs(snapshot=_snapshot(spec), no_snapshot="", geoip_db=geoip_db, allowed_countries=countries,
                  trusted_accounts=trusted)


def _snapshot(spec: str) -> Snapshot:
    try:
        return permissions.open_snapshot(spec)
    except (SnapshotError, permissions.PermissionsError) as exc:
        raise UsageError(f"--iam-snapshot: {exc}") from None


def catalog_detections(session: Session, requested: Iterable[str] | None) -> list[str]:
    """The catalog detections to run the usual way: all (or those `requested`) on the session's
    engine but the Python-side names and the exposure detections, which `run` runs with their trust."""
    exposure = set(session.tagged(EXPOSURE_TAG))
    if requested is None:
        requested = [n for n, q in session.catalog.items() if q.is_detection and session.engine.name in q.engines]
    return [n for n in requested if n not in names() and n not in exposure]


def run(session: Session, inputs: Inputs, requested: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Findings of the Python-side detections (only those in `requested`, when given), and one
    line per family: what it ran on, or which input it lacks."""
    wanted = None if requested is None else set(requested)

    def asked(family: str) -> bool:
        return wanted is None or bool(wanted & set(DETECTIONS[family]))

    frames: list[pd.DataFrame] = []
    lines: list[str] = []
    snapshot = inputs.snapshot
    frames.append(permissions.exposure(session, snapshot, trusted_accounts=inputs.trusted_accounts,
                                       names=None if wanted is None else sorted(wanted)))
    if asked(COUNTRY):
        missing = [what for what, given in (("--allowed-countries", inputs.allowed_countries),
                                             ("--geoip-db (a MaxMind .mmdb file)", inputs.geoip_db)) if not given]
        if missing:
            lines.append(_skipped(COUNTRY, f"needs {' and '.join(missing)}"))
        else:
            with GeoIP(inputs.geoip_db) as geoip:
                timeline = logins.login_timeline(session)
                frames.append(logins.country_findings(timeline, allowed_countries=inputs.allowed_countries,
                                                      allowed_cidrs=(), geoip=geoip))
            lines.append(f"{COUNTRY}: ran, allowed {', '.join(inputs.allowed_countries)}, "
                         f"GeoIP database {geoip.path.name}")
    if asked(HYGIENE):
        if snapshot is None:
            lines.append(_skipped(HYGIENE, inputs.no_snapshot))
        else:
            days = HYGIENE_DAYS
            checks = hygiene.credential_checks(snapshot, inactive_days=days["inactive_days"],
                                               rotation_days=days["rotation_days"],
                                               root_recent_days=days["root_recent_days"])
            frames.append(hygiene.findings(snapshot, checks, hygiene.posture_checks(snapshot)))
            without = [a for a in snapshot.accounts if not (snapshot.path / a / CREDENTIAL_REPORT_CSV).is_file()]
            lines.append(f"{HYGIENE}: ran on IAM snapshot {snapshot.path}"
                         + (f"; no credential report for {', '.join(without)}, so their CIS checks are unknown"
                            if without else ""))
    if asked(PERMISSIONS):
        if snapshot is None:
            lines.append(_skipped(PERMISSIONS, inputs.no_snapshot))
        else:
            try:
                report = permissions.analyse(session, snapshot, unused_days=PERMISSIONS_DAYS["unused_days"],
                                             inactive_days=PERMISSIONS_DAYS["inactive_days"])
                frames.append(report.findings)
                lines.append(f"{PERMISSIONS}: ran on IAM snapshot {snapshot.path}")
            except SnapshotError as exc:  # a call the collector could not make (snapshot.json lists it)
                lines.append(_skipped(PERMISSIONS, f"the IAM snapshot lacks its input: {exc}"))
    found = F.concat(frames)
    if wanted is not None and not found.empty:
        found = found[found["detection"].isin(wanted)].reset_index(drop=True)
    return found, lines


def _skipped(family: str, why: str) -> str:
    return f"skipped {family} ({', '.join(DETECTIONS[family])}): {why}"
