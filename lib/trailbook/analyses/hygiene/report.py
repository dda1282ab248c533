"""What the hygiene checks raise: failed credential and posture checks as findings."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trailbook import findings as F
from trailbook.iam.snapshot import Snapshot, iso_z

from .cis_checks import CHECKS
from .posture import POSTURE_DETECTIONS


def findings(snapshot: Snapshot, checks: pd.DataFrame, posture: pd.DataFrame | None = None) -> pd.DataFrame:
    """Failed checks as findings in the shared columns (snapshot time as first/last seen,
    no events). One finding per failed (check, subject); extra columns cis_id and detail."""
    stamp = iso_z(snapshot.collected_at)
    base: dict[str, Any] = {"first_seen": stamp, "last_seen": stamp, "region": None, "source_ip": None,
                            "user_agent": None, "event_names": [], "event_count": 0, "event_ids": []}
    rows = []
    for row in checks[checks["status"].eq("fail")].to_dict("records"):
        detection, _, severity, mitre = CHECKS[row["cis_id"]]
        rows.append({**base, "detection": detection, "severity": severity, "account_id": row["account_id"],
                     "principal_arn": row["arn"], "access_key_id": row["access_key_id"], "mitre": mitre,
                     "cis_id": row["cis_id"], "detail": row["detail"], "incident": row.get("incident")})
    if posture is not None:
        for row in posture[posture["status"].eq("fail")].to_dict("records"):
            detection, severity, mitre = POSTURE_DETECTIONS[row["check"]]
            rows.append({**base, "detection": detection, "severity": severity, "account_id": row["account_id"],
                         "principal_arn": None, "access_key_id": None, "mitre": mitre, "cis_id": None,
                         "detail": row["detail"]})
    if not rows:
        return F.empty()
    return F.sort(F.normalize(pd.DataFrame(rows)))
