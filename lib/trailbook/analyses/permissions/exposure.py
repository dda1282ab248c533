"""Which resources someone outside the organization can reach: the exposure detections' findings.

The detections tagged ``resource_exposure`` (``resource_policy_external_access``,
``iam_role_trust_backdoor``) read every resource-policy and grant call in the window with one
parser (``trailbook.resource_policy``). Here they run with the organization's accounts from the
IAM snapshot as trusted, beside the accounts seen in the window.
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
             trusted_org_ids: Sequence[str] = ()) -> pd.DataFrame:
    """Findings: every resource made public or reachable from outside in the window, most severe first."""
    accounts = sorted(set(trusted_accounts) | set(snapshot.accounts if snapshot is not None else ()))
    return session.detect(session.tagged(TAG), trusted_accounts=accounts, trusted_org_ids=list(trusted_org_ids))
