"""End to end in a real browser: the session browser of the cookbook's notebook 04.

JupyterLab runs on 127.0.0.1 (free port, random token, a temporary notebook folder
with a copy of ``04_session_history_widgets.ipynb`` whose outputs are cleared),
headless Chromium from Debian's package opens it through Playwright (never a
downloaded browser), runs every cell, and checks the live widget: the expected
sessions and transcript, paging, selecting a session, and that a message holding
``<script>`` and ``<img onerror>`` is shown as text and runs nothing. A
screenshot goes to ``test-artifacts/``.

Without Chromium (or Playwright) the test skips with the reason; with
``AGNO_NB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it fails instead.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "04_session_history_widgets.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
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
MARKER = "the interactive session browser"  # a comment in the %agno_history cell
SERVER_START_S = 90
RUN_ALL_S = 240
STEP_MS = 30_000


def _unavailable(reason: str) -> None:
    if os.environ.get("AGNO_NB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (AGNO_NB_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def _playwright() -> Any:
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[test]'")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab serving a folder with a fresh copy of notebook 04; yields (base URL, log)."""
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:  # everything the test sees must come from running the cells now
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, workdir / NOTEBOOK.name)

    user_settings = {
        # Keep every cell in the DOM (no virtual scrolling) so locators find them.
        "notebook-extension/tracker": {"windowingMode": "none"},
        # No "get notified about Jupyter news?" toast over the page (and no fetching).
        "apputils-extension/notification": {"fetchNews": "false"},
    }
    for name, values in user_settings.items():
        path = tmp_path / "lab-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    log = tmp_path / "jupyter.log"
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
                f"--LabApp.user_settings_dir={tmp_path / 'lab-settings'}",
                f"--LabApp.workspaces_dir={tmp_path / 'lab-workspaces'}",
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
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited early:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start in {SERVER_START_S}s")
                time.sleep(0.5)
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", log
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


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


def test_session_browser_in_jupyterlab(lab: tuple[str, Path]) -> None:
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    url, log = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.set_default_timeout(STEP_MS)
            page.goto(url, timeout=60_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=60_000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            )

            cells = page.evaluate(RUN_ALL, RUN_ALL_S * 1000)
            failed = [c["source"][:80] for c in cells if "error" in c["types"]]
            assert not failed, f"cells failed in JupyterLab: {failed}\n{log.read_text()[-2000:]}"
            assert [c["count"] for c in cells] == list(range(1, len(cells) + 1))

            cell = page.locator(".jp-CodeCell").filter(has_text=MARKER)
            expect(cell).to_have_count(1)
            output = cell.locator(".jp-OutputArea-output")
            cell.scroll_into_view_if_needed()

            # The live widget (not the static snapshot): its buttons are there.
            older = output.get_by_role("button", name="Older ▶", exact=True)
            expect(older).to_be_visible()
            expect(output).to_contain_text("sessions 1-5 of 12, newest first (page 1 of 3)")
            for session_id in ("s12-mallory", "s11-bob", "s10-alice", "s09-carol", "s08-bob"):
                expect(output.locator("table")).to_contain_text(session_id)
            expect(output.locator("table")).not_to_contain_text("s07-alice")

            # The newest session is selected: its hostile message shows as text, runs nothing.
            hostile = '<script>window.__pwned = true</script> <img src=x onerror="window.__pwned'
            expect(output).to_contain_text(f"Show this: {hostile}")
            assert page.evaluate("() => typeof window.__pwned") == "undefined"
            assert page.locator('img[src="x"]').count() == 0
            assert page.locator("script", has_text="__pwned").count() == 0
            output.screenshot(path=str(ARTIFACTS / "e2e_session_browser_page1.png"))

            # Paging happens in the kernel; by now later cells renamed and deleted sessions.
            older.click()
            expect(output).to_contain_text("sessions 6-10 of 11, newest first (page 2 of 3)")
            for session_id in ("s07-alice", "s06-carol", "s05-bob", "s04-alice", "s03-carol"):
                expect(output.locator("table")).to_contain_text(session_id)
            expect(output.locator("table")).not_to_contain_text("s12-mallory")
            expect(output.locator("table")).to_contain_text("Weekend in Lisbon")

            # Selecting a session shows its transcript in place of the previous one.
            select = output.locator("select")
            label = select.locator("option", has_text="s04-alice").text_content(timeout=STEP_MS)
            assert label, "no option for s04-alice in the session dropdown"
            select.select_option(label=label)
            expect(output).to_contain_text("Plan a weekend in Lisbon.")
            expect(output).to_contain_text("get_weather returned: clear, 27 C")
            expect(output).not_to_contain_text("window.__pwned")
            assert page.evaluate("() => typeof window.__pwned") == "undefined"

            output.screenshot(path=str(ARTIFACTS / "e2e_session_browser.png"))
            page.screenshot(path=str(ARTIFACTS / "e2e_notebook.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "e2e_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
