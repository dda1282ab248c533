"""What the trail bucket holds, folder by folder: ListObjectsV2 with Delimiter "/" lists one level
of "folders" (CommonPrefixes) without reading any object.

CloudTrail writes `<prefix>/AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<file>` for a
trail, and `<prefix>/AWSLogs/<org-id>/<account>/CloudTrail/...` for an organization trail (CloudTrail
User Guide, "Finding your CloudTrail log files"). A bucket can hold both. The listing walks
AWSLogs/, each organization folder in it, each account's CloudTrail/ folder (regions), and then the
newest day of one account and region, whose first object gives the encryption actually used and a
partition the test query can read.

The listing is what `trailbook athena ddl --accounts-from` reads: its `folders` map an organization
id ("" for a trail's own AWSLogs/<account>/ folders) to accounts and their regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_DIGITS = re.compile(r"^\d+$")


@dataclass
class Listing:
    bucket: str
    prefix: str  # the key prefix before AWSLogs/ ("" for none)
    folders: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # org id or "" -> account -> regions
    newest: dict[str, str] | None = None  # org_id, account, region, day (yyyy/MM/dd), key of its first object

    def logs_prefix(self, org_id: str = "") -> str:
        return (f"{self.prefix}/" if self.prefix else "") + "AWSLogs/" + (f"{org_id}/" if org_id else "")

    def to_json(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "prefix": self.prefix, "folders": self.folders, "newest": self.newest}


def children(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The names of the folders directly under `prefix` (every page)."""
    names: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        names += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes") or []]
    return names


def list_logs(s3: Any, bucket: str, prefix: str = "", *, prefer: tuple[str, str, str] = ("", "", "")) -> Listing:
    """Walk the bucket's CloudTrail folders. `prefer` (org id, account, region) picks the folder whose
    newest day is looked up, when it exists; else the first found."""
    listing = Listing(bucket, prefix.strip("/"))
    top = children(s3, bucket, listing.logs_prefix())
    orgs = [""] if any(_ACCOUNT.match(name) for name in top) else []
    orgs += sorted(name for name in top if _ORG.match(name))
    for org in orgs:
        base = listing.logs_prefix(org)
        accounts = [name for name in (top if not org else children(s3, bucket, base)) if _ACCOUNT.match(name)]
        listing.folders[org] = {account: sorted(r for r in children(s3, bucket, f"{base}{account}/CloudTrail/")
                                                if _REGION.match(r)) for account in sorted(accounts)}
    places = [(org, account, region) for org, accounts in listing.folders.items()
              for account, regions in accounts.items() for region in regions]
    if places:
        aim(s3, listing, *(prefer if prefer in places else next((p for p in places if p[0] == prefer[0]), places[0])))
    return listing


def aim(s3: Any, listing: Listing, org: str, account: str, region: str) -> None:
    """Point `listing.newest` at the newest day of this organization folder, account and region."""
    listing.newest = newest_day(s3, listing.bucket, f"{listing.logs_prefix(org)}{account}/CloudTrail/{region}/")
    if listing.newest is not None:
        listing.newest.update(org_id=org, account=account, region=region)


def newest_day(s3: Any, bucket: str, region_prefix: str) -> dict[str, str] | None:
    """The newest yyyy/MM/dd folder under a region's folder and the key of its first object."""
    path = region_prefix
    parts = []
    for _ in range(3):  # year, month, day
        found = sorted(name for name in children(s3, bucket, path) if _DIGITS.match(name))
        if not found:
            return None
        parts.append(found[-1])
        path += found[-1] + "/"
    first = s3.list_objects_v2(Bucket=bucket, Prefix=path, MaxKeys=1).get("Contents") or []
    return {"day": "/".join(parts), "key": first[0]["Key"]} if first else None
