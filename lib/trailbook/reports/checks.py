"""Everything checkable before a run, checked before any kernel starts (each problem exits 2).

Notebook parameters with a known meaning are checked by name: ids, ranges and paths. The output
folder must be a folder trailbook may write a run into, not a system folder or a file.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from .. import params as P
from .. import sources
from ..errors import UsageError

# Parameters every notebook means the same by: their type in the catalog's terms. Empty means "none".
TYPED = {
    "accounts": "list[account_id]",
    "regions": "list[region]",
    "access_key_id": "access_key_id",
    "principal_arn": "arn",
    "allowed_cidrs": "list[cidr]",
}
# Folders a run never goes into (or under), whatever the permissions allow.
SYSTEM_FOLDERS = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
                  "/sbin", "/sys", "/usr", "/var")
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr")


def check_value(name: str, value: Any, what: str) -> None:
    """Raise UsageError when a parameter with a known meaning holds something it cannot mean."""
    if name in TYPED and value not in ("", None, [], ()):
        try:
            P.coerce(TYPED[name], value, what)
        except P.ParameterError as exc:
            raise UsageError(str(exc)) from None
    elif name == "source" and value and isinstance(value, str) and not sources.is_named(value):
        if glob.has_magic(value) and not glob.glob(value, recursive=True):
            raise UsageError(f"{what}: nothing matches {value}")
        if not glob.has_magic(value) and not Path(value).exists():
            raise UsageError(f"{what}: {value} does not exist")
    elif name == "config" and value:
        _check_config(Path(str(value)).expanduser(), what)
    elif name == "iam_snapshot" and value and isinstance(value, str) and value != "live" \
            and not sources.is_named(value) and not Path(value).expanduser().exists():
        raise UsageError(f"{what}: {value} does not exist (give a snapshot folder, or 'live')")


def _check_config(path: Path, what: str) -> None:
    import yaml

    if not path.is_file():
        raise UsageError(f"{what}: config file {path} does not exist")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{what}: config file {path} cannot be read as YAML: {' '.join(str(exc).split())}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise UsageError(f"{what}: config file {path} must hold a mapping (athena:, lake:, ...)")


def check_out_dir(out_dir: str | Path) -> Path:
    """The output folder, resolved and created; refuses system folders, $HOME itself and files."""
    given = Path(out_dir).expanduser()
    out = given.resolve()
    text = str(out)
    if text in SYSTEM_FOLDERS or any(text.startswith(tree + "/") for tree in SYSTEM_TREES):
        raise UsageError(f"--out {given}: refusing to write a run into the system folder {out}")
    if out == Path.home().resolve():
        raise UsageError(f"--out {given}: refusing to write runs straight into your home folder; name a folder in it")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {given}: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {given}: cannot create {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {given}: {out} is not writable")
    return out
