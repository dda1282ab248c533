"""`trailbook lab`: JupyterLab on the notebooks folder, with this interpreter as the notebooks' kernel.

The notebooks name the kernel `python3`; jupyter_client maps that kernelspec's `python`
to the server's own interpreter, so starting Lab with `sys.executable` (the venv that has
trailbook installed) is what makes it "the trailbook kernel". Update checks and the news
feed are off: Lab runs offline, and the toast would only get in the way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

KERNEL_NAME = "python3"


def default_notebooks_dir() -> Path:
    from . import paths

    return paths.notebooks_dir()


def lab_argv(
    notebooks_dir: str | Path | None = None,
    *,
    port: int | None = None,
    ip: str = "127.0.0.1",
    token: str | None = None,
    open_browser: bool = False,
    allow_root: bool | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line that starts JupyterLab on the notebooks folder.

    port: None lets Jupyter choose; a given port never silently moves to another (port_retries=0).
    token: None keeps Jupyter's generated token (printed in its log); "" would disable auth, so it is refused.
    allow_root: None means "when running as root" (containers).
    """
    folder = Path(notebooks_dir or default_notebooks_dir()).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"notebooks folder {folder} does not exist")
    if token == "":
        raise ValueError("an empty token would leave Lab open to anyone who can reach the port")
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", f"--ServerApp.ip={ip}",
            f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if port is not None:
        argv += [f"--ServerApp.port={int(port)}", "--ServerApp.port_retries=0"]
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        argv.append("--no-browser")
    if allow_root if allow_root is not None else (hasattr(os, "geteuid") and os.geteuid() == 0):
        argv.append("--allow-root")
    return argv + list(extra)


def lab_env(notebooks_dir: str | Path | None = None) -> dict[str, str]:
    """The environment for Lab and its kernels: notebook.begin() reads parameters cells from this folder."""
    folder = Path(notebooks_dir or default_notebooks_dir()).expanduser().resolve()
    return {**os.environ, "TRAILBOOK_NOTEBOOKS": str(folder)}


def start_lab(notebooks_dir: str | Path | None = None, **options) -> subprocess.Popen:
    """Start Lab in the background (the caller stops it with .terminate(), i.e. SIGTERM to its PID)."""
    return subprocess.Popen(lab_argv(notebooks_dir, **options), env=lab_env(notebooks_dir))


def run_lab(notebooks_dir: str | Path | None = None, **options) -> int:
    """Run Lab in the foreground until it exits (Ctrl-C stops it); the CLI's `trailbook lab`."""
    return subprocess.call(lab_argv(notebooks_dir, **options), env=lab_env(notebooks_dir))
