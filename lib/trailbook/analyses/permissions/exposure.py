"""Which resources someone outside the organization can reach: the exposure detections' findings.

The detections tagged ``resource_exposure`` (``resource_policy_external_access``,
``iam_role_trust_backdoor``) read every resource-policy and grant call in the window with one
parser (``trailbook.resource_policy``). Here they run with the IAM snapshot's accounts, and its
organization (id and every member account, when the collection could list them), as trusted,
beside the accounts seen in the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from trailbook.iam.snapshot import Snapshot
    from trailbook.session import Session

TAG = "resource_exposure"


def exposure(session: Session, snapshot: Snapshot | None = None, *, trusted_accounts: Sequence[str] = (),
             trusted_org_ids: Sequence[str] = (), names: Sequence[str] | None = None) -> pd.DataFrame:
    """Findings: every resource made public or reachable from outside in the window, most severe first
    (`names`: only these of the exposure detections)."""
    accounts = sorted(set(trusted_accounts) | set(snapshot.organization_accounts if snapshot is not None else ()))
    own_org = snapshot.organization_id if snapshot is not None else None
    org_ids = sorted(set(trusted_org_ids) | ({own_org} if own_org else set()))
    chosen = session.tagged(TAG) if names is None else [n for n in session.tagged(TAG) if n in names]
    return session.detect(chosen, trusted_accounts=accounts, trusted_org_ids=org_ids)
