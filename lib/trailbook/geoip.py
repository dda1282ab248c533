"""Offline country lookup from a MaxMind-format database (GeoLite2/GeoIP2 Country or City, .mmdb).

trailbook never calls a web service for geolocation: the user supplies the database file. Without
one, callers skip country checks and say so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path


class GeoIPError(ValueError):
    """The GeoIP database is missing or is not a MaxMind DB file."""


class GeoIP:
    """Country lookups against one .mmdb file. Use as a context manager or call close()."""

    def __init__(self, path: str | Path) -> None:
        import maxminddb

        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise GeoIPError(f"GeoIP database {self.path} does not exist")
        try:
            self._reader = maxminddb.open_database(str(self.path))
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as exc:
            raise GeoIPError(f"{self.path} is not a MaxMind DB file: {exc}") from None
        self.database_type = self._reader.metadata().database_type

    def country(self, ip: str | None) -> str | None:
        """The ISO 3166 country code for an address; None when unknown or not an IP (e.g. 'AWS Internal')."""
        if not ip:
            return None
        try:
            address = ipaddress.ip_address(str(ip).strip())
        except ValueError:
            return None
        try:
            record = self._reader.get(address)
        except ValueError:  # an IPv6 address against an IPv4-only database
            return None
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):
            place = record.get(key)
            code = place.get("iso_code") if isinstance(place, dict) else None
            if code:
                return str(code)
        return None

    def countries(self, ips: Iterable[str | None]) -> dict[str, str | None]:
        return {ip: self.country(ip) for ip in dict.fromkeys(i for i in ips if i)}

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> GeoIP:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
