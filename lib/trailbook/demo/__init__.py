"""The deterministic demo data set every analysis runs on by default.

`generate(out_dir, seed=7, events=40_000, incidents=True)` writes CloudTrail delivery files,
an IAM snapshot and a ground-truth manifest; `DEMO_WINDOW` holds the fixed dates; `ensure()`
keeps a default copy on disk. Modules, lowest first: window, ids, catalog, world, records,
usage, delivery, streams (who does what), schedule (when), background (the records),
incidents, iam_snapshot, generate; org (`generate_org`: an organization's delivery shape, for
scale benchmarks) stands apart.
"""

from __future__ import annotations

from .generate import MANIFEST, default_root, ensure, generate, snapshot_beside
from .org import generate_org
from .window import DEMO_WINDOW, DemoWindow

__all__ = ["DEMO_WINDOW", "DemoWindow", "MANIFEST", "default_root", "ensure", "generate", "generate_org",
           "snapshot_beside"]
