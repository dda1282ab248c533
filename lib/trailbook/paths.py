"""Where trailbook's folders are: the checkout's queries/ and notebooks/, the demo, and its home.

Every other module asks here; environment variables override each folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The source checkout trailbook runs from (it holds pyproject.toml and lib/trailbook), if any."""
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "lib" / "trailbook").is_dir():
            return parent
    return None


def _checkout_folder(name: str) -> Path:
    root = checkout_root()
    return (root if root is not None else PACKAGE_DIR.parents[1]) / name


def queries_dir() -> Path:
    """The query catalog: $TRAILBOOK_QUERIES, else <checkout>/queries."""
    return Path(os.environ.get("TRAILBOOK_QUERIES") or _checkout_folder("queries")).expanduser()


def notebooks_dir() -> Path:
    """The notebooks: $TRAILBOOK_NOTEBOOKS, else <checkout>/notebooks."""
    return Path(os.environ.get("TRAILBOOK_NOTEBOOKS") or _checkout_folder("notebooks")).expanduser()


def home() -> Path:
    """Where trailbook keeps what it makes for you (stores, IAM snapshots): $TRAILBOOK_HOME, else
    ~/.cache/trailbook."""
    return Path(os.environ.get("TRAILBOOK_HOME") or Path.home() / ".cache" / "trailbook").expanduser()


def demo_dir() -> Path:
    """The default demo: $TRAILBOOK_DEMO_DIR, else <checkout>/demo, else <home>/demo."""
    env = os.environ.get("TRAILBOOK_DEMO_DIR")
    if env:
        return Path(env).expanduser()
    root = checkout_root()
    return root / "demo" if root is not None else home() / "demo"
