"""trailbook: Jupyter-based security analytics over AWS CloudTrail.

One query catalog (Trino SQL files in queries/) runs on three engines: `local`
(DuckDB over CloudTrail files on disk), `athena` (pyathena) and `lake`
(CloudTrail Lake through boto3). Notebooks open a session and call the analyses.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib

# Submodules load on first use, so `import trailbook` stays cheap in a kernel.
_LAZY = {"catalog", "demo", "findings", "notebook", "params", "session", "store", "loader", "analyses", "plots",
         "reports", "iam", "engines"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name == "open_session":
        from .session import open_session

        return open_session
    raise AttributeError(f"module 'trailbook' has no attribute {name!r}")
