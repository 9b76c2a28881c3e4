"""JupyterLab + headless Chromium for the end-to-end tests and ``docs/img/first_notebook.py``.

JupyterLab runs from this interpreter on 127.0.0.1 (free port, random token, its config,
data, runtime, settings and workspace folders under a temporary folder, no news and no
update checks); Chromium is Debian's (``/usr/bin/chromium``) driven through Playwright,
never a downloaded browser. Without Chromium (or Playwright) a test skips with the
reason; with ``AGNO_NB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it fails instead.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots (ignored by git)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_S = 90
RUN_ALL_S = 240
STEP_MS = 30_000

# Runs every cell of the open notebook (at most limitMs) and returns, per code cell,
# its execution count, its output types and its source.
RUN_ALL = """async (limitMs) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const run = app.commands.execute('notebook:run-all-cells');
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('run-all timed out')), limitMs));
  await Promise.race([run, timeout]);
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const json = c.model.toJSON();
    return {count: json.execution_count, types: json.outputs.map(o => o.output_type),
            source: json.source};
  });
}"""

USER_SETTINGS = {
    # Keep every cell in the DOM (no virtual scrolling) so locators find them.
    "notebook-extension/tracker": {"windowingMode": "none"},
    # No "get notified about Jupyter news?" toast over the page (and no fetching).
    "apputils-extension/notification": {"fetchNews": "false"},
}


def _unavailable(reason: str) -> NoReturn:
    import pytest

    if os.environ.get("AGNO_NB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (AGNO_NB_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def playwright_or_skip() -> Any:
    """``sync_playwright``; else skip saying what is missing (fail if AGNO_NB_REQUIRE_BROWSER=1)."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[test]'")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_notebook(src: Path, folder: Path) -> Path:
    """Copy notebook ``src`` into ``folder`` with its code outputs and counts cleared.

    Everything a test sees must come from running the cells now.
    """
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    path = folder / src.name
    nbformat.write(nb, path)
    return path


def _pytest_fail(message: str) -> NoReturn:
    import pytest

    pytest.fail(message)


@contextmanager
def running_lab(
    home: Path,
    workdir: Path,
    notebook_name: str,
    *,
    start_s: int = SERVER_START_S,
    fail: Callable[[str], NoReturn] = _pytest_fail,
) -> Iterator[tuple[str, Path]]:
    """JupyterLab serving ``workdir``; yields (URL of ``notebook_name`` with the token, log).

    Its settings, config and log live under ``home``. If the server exits early or does
    not answer within ``start_s`` seconds, ``fail`` gets the reason (default:
    ``pytest.fail``). On exit the server is terminated, and killed if it lingers.
    """
    for name, values in USER_SETTINGS.items():
        path = home / "lab-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())
    log = home / "jupyter.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--port-retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={workdir}",
                "--LabApp.expose_app_in_browser=True",
                f"--LabApp.user_settings_dir={home / 'lab-settings'}",
                f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:
            if server.poll() is not None:
                fail(f"JupyterLab exited early:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    fail(f"JupyterLab did not start in {start_s}s")
                time.sleep(0.5)
        yield f"{base}/lab/tree/{notebook_name}?token={token}", log
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@contextmanager
def chromium_page(width: int, height: int, failure_png: str) -> Iterator[Any]:
    """A Playwright page in headless Chromium (or skip, see ``playwright_or_skip``).

    If the block raises an Exception, the whole page is saved to ``ARTIFACTS /
    failure_png`` first; the browser is closed on the way out.
    """
    sync_playwright = playwright_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            yield page
        except Exception:
            page.screenshot(path=str(ARTIFACTS / failure_png), full_page=True)
            raise
        finally:
            browser.close()


def open_and_run_all(page: Any, url: str, log: Path) -> list[dict[str, Any]]:
    """Open the notebook at ``url`` in ``page``, run every cell, assert none failed.

    Returns one dict per code cell: ``count``, output ``types`` and ``source``.
    """
    page.set_default_timeout(STEP_MS)
    page.goto(url, timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
    cells: list[dict[str, Any]] = page.evaluate(RUN_ALL, RUN_ALL_S * 1000)
    failed = [c["source"][:80] for c in cells if "error" in c["types"]]
    assert not failed, f"cells failed in JupyterLab: {failed}\n{log.read_text()[-2000:]}"
    return cells
