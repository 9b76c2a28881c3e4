"""End to end in a real browser: the session browser of the cookbook's notebook 04.

JupyterLab runs on 127.0.0.1 (free port, random token, a temporary notebook folder
with a copy of ``04_session_history_widgets.ipynb`` whose outputs are cleared),
headless Chromium from Debian's package opens it through Playwright (never a
downloaded browser), runs every cell, and checks the live widget: the expected
sessions and transcript, clicking a row and moving with the arrow keys (the row
is highlighted, its transcript shows), paging, ``%agno_history ID`` opening on
the page that holds the session, and that a message holding ``<script>`` and
``<img onerror>`` is shown as text and runs nothing. Screenshots go to
``test-artifacts/`` (ignored by git).

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

ROOT = Path(__file__).resolve().parents[2]
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
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
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

            # The live widget (not the static snapshot): its list and buttons are there.
            older = output.get_by_role("button", name="Older ▶", exact=True)
            expect(older).to_be_visible()
            # The browser is live (issue 19): later cells already deleted a session.
            expect(output).to_contain_text("sessions 1-5 of 11, newest first (page 1 of 3)")
            listbox = output.get_by_role("listbox", name="sessions")
            expect(listbox).to_have_count(1)
            rows = listbox.get_by_role("option")
            expect(rows).to_have_count(5)
            for question in ("Show this: <script>", "What time zone is Tokyo in?", "databases"):
                expect(listbox).to_contain_text(question)
            expect(listbox).not_to_contain_text("What is 6 x 7?")  # page 2
            # One line per session (nothing wraps, however long the question), no ids in it.
            heights = rows.evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")
            assert max(heights) < 1.5 * min(heights), heights
            for text in rows.all_inner_texts():
                assert "s12-mallory" not in text, text

            # The newest session is selected: its hostile message shows as text, runs nothing.
            checked = listbox.locator('[aria-selected="true"]')  # the highlighted row
            expect(checked).to_have_count(1)
            expect(checked).to_contain_text("Show this: <script>")
            transcript = output.locator(".agno-nb-run")
            hostile = '<script>window.__pwned = true</script> <img src=x onerror="window.__pwned'
            expect(transcript.first).to_contain_text(f"Show this: {hostile}")
            assert page.evaluate("() => typeof window.__pwned") == "undefined"
            assert page.locator('img[src="x"]').count() == 0
            assert page.locator("script", has_text="__pwned").count() == 0
            output.screenshot(path=str(ARTIFACTS / "e2e_session_browser_page1.png"))

            # The export file box shows the whole default file name.
            sizes = output.locator("input").evaluate_all(
                "els => els.filter(e => e.value === 'agno_sessions.jsonl')"
                ".map(e => [e.scrollWidth, e.clientWidth])"
            )
            assert len(sizes) == 1 and sizes[0][0] <= sizes[0][1], sizes

            # Clicking a row selects it, highlights it and shows its transcript.
            rows.filter(has_text="Recommend a book about databases.").click()
            expect(checked).to_contain_text("Recommend a book about databases.")
            expect(transcript.first).to_contain_text("Recommend a book about databases.")
            expect(transcript.first).not_to_contain_text("window.__pwned")
            expect(output).to_contain_text("s10-alice")  # the full id, in the transcript header
            background = checked.evaluate("o => getComputedStyle(o).backgroundColor")
            plain = rows.nth(0).evaluate("o => getComputedStyle(o).backgroundColor")
            assert background != plain, (background, plain)

            # The arrow keys move the selection, and the transcript follows.
            listbox.press("ArrowDown")
            expect(checked).to_contain_text("Translate 'good morning' to Spanish.")
            expect(transcript.first).to_contain_text("Translate 'good morning' to Spanish.")

            # Paging happens in the kernel (later cells renamed and deleted sessions).
            older.click()
            expect(output).to_contain_text("sessions 6-10 of 11, newest first (page 2 of 3)")
            expect(listbox).to_contain_text("Weekend in Lisbon")
            expect(listbox).not_to_contain_text("Show this")

            rows.filter(has_text="Weekend in Lisbon").click()
            expect(checked).to_contain_text("Weekend in Lisbon")
            expect(output).to_contain_text("Plan a weekend in Lisbon.")
            expect(output).to_contain_text("get_weather returned: clear, 27 C")
            expect(transcript.first).not_to_contain_text("window.__pwned")
            assert page.evaluate("() => typeof window.__pwned") == "undefined"

            # %agno_history SESSION_ID opens on the page that holds it, with it selected.
            opened = page.locator(".jp-CodeCell").filter(has_text="%agno_history s04-alice")
            expect(opened).to_have_count(1)
            opened_out = opened.locator(".jp-OutputArea-output")
            expect(opened_out).to_contain_text("(page 2 of 3)")
            opened_row = opened_out.locator('[role="option"][aria-selected="true"]')
            expect(opened_row).to_contain_text("Weekend in Lisbon")  # renamed later: live
            expect(opened_out).to_contain_text("s04-alice")

            output.screenshot(path=str(ARTIFACTS / "e2e_session_browser.png"))
            page.screenshot(path=str(ARTIFACTS / "e2e_notebook.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "e2e_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
