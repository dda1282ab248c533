"""Console sign-ins: the timeline, a per-user summary, and every sign-in finding in one table.

The notebook `console_logins` calls these one per cell. Detections are catalog queries; this
module only adds what SQL cannot do portably: the country allow-list (a local MaxMind database,
see `geoip`) and the notes that tell the reader which checks ran and which were skipped.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import findings as F
from .. import params as P
from ..geoip import GeoIP

if TYPE_CHECKING:
    from ..session import Session

TIMELINE_QUERY = "console_logins"
# The catalog tag of every detection this analysis runs.
TAG = "console_logins"
COUNTRY_DETECTION = "console_login_outside_allowed_countries"
COUNTRY_MITRE = ["T1078.004"]


def detections(session: Session) -> list[str]:
    """The sign-in detections of the catalog (tag `console_logins`) that run on the session's engine."""
    return session.tagged(TAG)


def login_timeline(session: Session) -> pd.DataFrame:
    """Every ConsoleLogin in the session window: outcome, MFA, federation, principal, user name, IP."""
    frame = session.run(TIMELINE_QUERY)
    frame = frame.copy()
    frame["time"] = pd.to_datetime(frame["eventtime"], utc=True, format="ISO8601")
    for column in ("mfa_used", "federated"):
        frame[column] = frame[column].astype("boolean").fillna(False).astype(bool)
    frame.attrs["query"] = TIMELINE_QUERY
    return frame.reset_index(drop=True)


# The timeline's columns as the report shows them, in reading order (eventid last: it is for lookups).
# principal_arn holds the user name when a failed sign-in has no ARN, so user_name is not repeated; ten
# columns fit the page at 1400 px with every id whole.
TIMELINE_COLUMNS = ["eventtime", "outcome", "mfa_used", "federated", "account_id", "principal_arn", "source_ip",
                    "user_agent", "error_message", "eventid"]


def timeline_table(timeline: pd.DataFrame) -> pd.DataFrame:
    """Every console sign-in as the report lists it: one row per ConsoleLogin, oldest first.

    `login_timeline`'s cell assigns its frame for the plots, so it displays nothing; this is what the
    "Every console sign-in" section shows (paged, filterable and sortable when long)."""
    table = timeline.reindex(columns=TIMELINE_COLUMNS)
    return table.rename(columns={"eventtime": "time (UTC)", "mfa_used": "MFA", "eventid": "event_id"})


def summary(timeline: pd.DataFrame) -> pd.DataFrame:
    """One row per account and user name: successes (with/without MFA), failures, source IPs, first/last."""
    columns = ["account_id", "user_name", "identity_type", "successes", "successes_without_mfa",
               "federated", "failures", "source_ips", "first_seen", "last_seen"]
    if timeline.empty:
        return pd.DataFrame(columns=columns)
    frame = timeline.assign(
        success=timeline["outcome"].eq("Success"),
        no_mfa=timeline["outcome"].eq("Success") & ~timeline["mfa_used"] & ~timeline["federated"],
        fed=timeline["outcome"].eq("Success") & timeline["federated"],
    )
    grouped = frame.groupby(["account_id", "user_name"], dropna=False, sort=True)
    out = grouped.agg(
        identity_type=("identity_type", "first"),
        successes=("success", "sum"),
        successes_without_mfa=("no_mfa", "sum"),
        federated=("fed", "sum"),
        failures=("success", lambda s: int((~s).sum())),
        source_ips=("source_ip", "nunique"),
        first_seen=("eventtime", "min"),
        last_seen=("eventtime", "max"),
    ).reset_index()
    out = out.sort_values(["successes_without_mfa", "failures"], ascending=False, kind="stable")
    return out[columns].reset_index(drop=True)


@dataclass
class Notes:
    """What the findings cover: checks run, checks skipped and why. Displays as Markdown."""

    lines: list[str] = field(default_factory=list)

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- {line}" for line in self.lines) if self.lines else "- (no notes)"

    def __str__(self) -> str:
        return "\n".join(self.lines)


def _as_list(value: Any, what: str) -> Any:
    """Lists as given; text as papermill's -p passes it: '["US", "DE"]' (YAML/JSON) or 'US,DE'."""
    if isinstance(value, str) and value.strip().startswith("["):
        import yaml

        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            raise P.ParameterError(f"{what}: {value!r} is not a list") from None
    return value if value else ()


def _check_cidrs(allowed_cidrs: Sequence[str] | str) -> tuple[str, ...]:
    cidrs = P.coerce("list[cidr]", _as_list(allowed_cidrs, "allowed_cidrs"), "allowed_cidrs")
    ipv6 = [c for c in cidrs if ipaddress.ip_network(c).version == 6]
    if ipv6:
        raise P.ParameterError(f"allowed_cidrs: IPv6 ranges are not supported yet: {ipv6}")
    return cidrs


def _check_countries(allowed_countries: Sequence[str] | str) -> tuple[str, ...]:
    listed = P.coerce("list[string]", _as_list(allowed_countries, "allowed_countries"), "allowed_countries")
    codes = tuple(c.strip().upper() for c in listed)
    bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
    if bad:
        raise P.ParameterError(f"allowed_countries: {bad} are not ISO 3166 two-letter country codes (e.g. US, DE)")
    return codes


def _in_any(ip: str | None, cidrs: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(str(ip))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c) for c in cidrs)


def country_findings(timeline: pd.DataFrame, *, allowed_countries: Sequence[str], allowed_cidrs: Sequence[str],
                     geoip: GeoIP) -> pd.DataFrame:
    """Successful sign-ins from a country not in `allowed_countries` and from no allowed CIDR, per principal and IP.

    A sign-in whose country the database does not know is reported too (country 'unknown'): an
    allow-list cannot vouch for it.
    """
    successes = timeline[timeline["outcome"].eq("Success")]
    rows = []
    by_source = successes.groupby(["account_id", "principal_arn", "source_ip"], dropna=False)
    for (account, principal, ip), group in by_source:
        if _in_any(ip, allowed_cidrs):
            continue
        country = geoip.country(ip)
        if country in allowed_countries:
            continue
        group = group.sort_values("eventtime")
        rows.append({
            "detection": COUNTRY_DETECTION,
            "severity": "high" if (group["identity_type"] == "Root").any() else "medium",
            "first_seen": group["eventtime"].min(), "last_seen": group["eventtime"].max(),
            "account_id": account, "region": group["region"].iloc[0], "principal_arn": principal,
            "access_key_id": None, "source_ip": ip, "user_agent": group["user_agent"].iloc[0],
            "event_names": ["ConsoleLogin"], "event_count": len(group),
            "event_ids": list(group["eventid"]), "mitre": COUNTRY_MITRE, "country": country or "unknown",
        })
    return F.normalize(pd.DataFrame(rows)) if rows else F.empty()


def findings(
    session: Session,
    *,
    baseline_days: int = 14,
    brute_force_threshold: int = 10,
    root_brute_force_threshold: int = 5,
    brute_force_window_minutes: int = 15,
    spray_min_users: int = 5,
    spray_window_minutes: int = 60,
    min_failures_before_success: int = 3,
    success_lookback_minutes: int = 1440,
    allowed_cidrs: Sequence[str] = (),
    allowed_countries: Sequence[str] = (),
    geoip_db: str = "",
) -> pd.DataFrame:
    """Run every sign-in detection (catalog tag `console_logins`) with the notebook's thresholds, each
    passed by its own name to the detections that declare it; add the country check; most severe first.

    The result's `attrs["notes"]` (see `notes`) says which checks ran and which were skipped.
    """
    baseline_days = P.coerce("int", baseline_days, "baseline_days")
    if baseline_days < 1:
        raise P.ParameterError("baseline_days: must be at least 1")
    cidrs = _check_cidrs(allowed_cidrs)
    countries = _check_countries(allowed_countries)
    baseline_start = session.start - dt.timedelta(days=baseline_days)
    values: dict[str, Any] = {
        "brute_force_threshold": brute_force_threshold, "root_brute_force_threshold": root_brute_force_threshold,
        "brute_force_window_minutes": brute_force_window_minutes, "spray_min_users": spray_min_users,
        "spray_window_minutes": spray_window_minutes, "min_failures_before_success": min_failures_before_success,
        "success_lookback_minutes": success_lookback_minutes, "baseline_start": baseline_start,
        "allowed_cidrs": list(cidrs),
    }
    notes = [f"Window {P.iso(session.start)} to {P.iso(session.end)}; new-source baseline from "
             f"{P.iso(baseline_start)} ({baseline_days} days)."]
    names = detections(session)
    frames = [session.detect(names, **values)]
    notes.append("IP allow-list: " + (f"checked against {', '.join(cidrs)}." if cidrs
                                      else "not checked (allowed_cidrs is empty)."))
    if not countries:
        notes.append("Country allow-list: not checked (allowed_countries is empty).")
    elif not geoip_db:
        notes.append(f"Country allow-list {', '.join(countries)}: NOT CHECKED - no GeoIP database was given "
                     "(set geoip_db to a MaxMind .mmdb file, e.g. GeoLite2-Country.mmdb).")
    else:
        with GeoIP(geoip_db) as geoip:
            timeline = login_timeline(session)
            frames.append(country_findings(timeline, allowed_countries=countries, allowed_cidrs=cidrs, geoip=geoip))
            notes.append(f"Country allow-list {', '.join(countries)}: checked with {geoip.path.name} "
                         f"({geoip.database_type}); sign-ins from allowed CIDRs count as allowed.")
    result = F.concat(frames)
    if countries and geoip_db and not result.empty:
        # Drop range findings for sign-ins whose country is allowed: either allow-list admits a sign-in.
        with GeoIP(geoip_db) as geoip:
            allowed_by_country = result["detection"].eq("console_login_outside_allowed_ranges") & \
                result["source_ip"].map(lambda ip: geoip.country(ip) in countries)
        result = result[~allowed_by_country].reset_index(drop=True)
    result.attrs["notes"] = notes
    result.attrs["detections"] = names
    return result


def notes(found: pd.DataFrame) -> Notes:
    """The notes `findings` attached: which checks ran, which were skipped, and counts per detection."""
    lines = list(found.attrs.get("notes", []))
    counts = found["detection"].value_counts().to_dict() if not found.empty else {}
    per_detection = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    lines.append("Findings per detection: " + (per_detection or "none") + ".")
    return Notes(lines)


def by_detection(found: pd.DataFrame) -> pd.DataFrame:
    """Counts of findings per detection and severity, every detection listed (zero when it found nothing)."""
    seen = set(found.get("detection", []))
    names = list(found.attrs.get("detections") or sorted(seen))
    names += [COUNTRY_DETECTION] if COUNTRY_DETECTION in seen and COUNTRY_DETECTION not in names else []
    rows = []
    for name in names:
        part = found[found["detection"].eq(name)] if not found.empty else found
        rows.append({"detection": name, "findings": len(part),
                     "events": int(part["event_count"].sum()) if len(part) else 0,
                     **{sev: int(part["severity"].eq(sev).sum()) if len(part) else 0
                        for sev in reversed(F.SEVERITY_RANK)}})
    return pd.DataFrame(rows)
