"""`trailbook lab`: the command line, and a real JupyterLab started, queried through its API and stopped."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from trailbook import lab

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"


def test_argv_points_lab_at_the_notebooks_with_this_interpreter():
    argv = lab.lab_argv(NOTEBOOKS, port=8123, token="abc", allow_root=True)
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={NOTEBOOKS.resolve()}" in argv
    assert {"--ServerApp.port=8123", "--ServerApp.port_retries=0", "--IdentityProvider.token=abc", "--no-browser",
            "--allow-root", "--MappingKernelManager.default_kernel_name=python3"} <= set(argv)
    assert "--allow-root" not in lab.lab_argv(NOTEBOOKS, allow_root=False)
    assert lab.lab_env(NOTEBOOKS)["TRAILBOOK_NOTEBOOKS"] == str(NOTEBOOKS.resolve())


def test_refuses_an_empty_token_and_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="empty token"):
        lab.lab_argv(NOTEBOOKS, token="")
    with pytest.raises(FileNotFoundError):
        lab.lab_argv(tmp_path / "nope")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.mark.slow
def test_lab_serves_a_notebook_through_the_contents_api_and_stops_by_pid(tmp_path, monkeypatch):
    # Keep Lab's runtime and workspace files out of the user's home.
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_CONFIG_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    port, token = _free_port(), secrets.token_hex(16)
    process = lab.start_lab(NOTEBOOKS, port=port, token=token)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a bound on waiting for start-up, not a performance check
        while True:
            assert process.poll() is None, "JupyterLab exited during start-up"
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not start"
            time.sleep(0.5)
        assert _get(f"{base}/api/contents/report_ok.ipynb", "wrong-token")[0] in (401, 403)
        status, body = _get(f"{base}/api/contents/report_ok.ipynb?content=1", token)
        assert status == 200
        model = json.loads(body)
        assert model["type"] == "notebook" and model["format"] == "json"
        tagged = [c for c in model["content"]["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and 'engine = "local"' in tagged[0]["source"]
        status, body = _get(f"{base}/api/kernelspecs", token)
        assert status == 200 and json.loads(body)["default"] == "python3"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
