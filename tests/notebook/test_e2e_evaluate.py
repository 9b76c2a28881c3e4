"""End to end in a real browser: labelling runs and picking answers in notebook 11.

JupyterLab (127.0.0.1, free port, random token, a temporary folder with a copy of
``11_evaluate.ipynb`` whose outputs are cleared) is opened by headless Debian
Chromium through Playwright; every cell runs, then the test clicks the live
widgets as a user would: 👍 on a run card, the ``b`` key on it, "correct it" with
a typed correction and Save, and "v1 is better" in the compare widget. It checks
what the page shows (the label on the card, the counts in the list, the picked
answer outlined) and what the database holds afterwards. Screenshots go to
``test-artifacts/`` (ignored by git).

Without Chromium (or Playwright) the test skips with the reason; with
``AGNO_NB_REQUIRE_BROWSER=1`` it fails instead.
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
NOTEBOOK = ROOT / "notebooks" / "11_evaluate.ipynb"
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
SERVER_START_S = 90
RUN_ALL_S = 240
STEP_MS = 30_000

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
def lab(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """JupyterLab serving a fresh copy of notebook 11; yields (URL, log, notebook folder)."""
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, workdir / NOTEBOOK.name)
    settings = {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false"},
    }
    for name, values in settings.items():
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
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", log, workdir
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_label_buttons_and_compare_widget_in_jupyterlab(lab: tuple[str, Path, Path]) -> None:
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    url, log, workdir = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        page = browser.new_page(viewport={"width": 1280, "height": 2200})
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

            # -- the session browser: label bars under the run cards ----------------------
            cell = page.locator(".jp-CodeCell").filter(has_text="browser = SessionBrowser(storage)")
            expect(cell).to_have_count(1)
            output = cell.locator(".jp-OutputArea-output")
            bars = output.locator(".agno-nb-labelbar")
            expect(bars).to_have_count(4)
            cards = output.locator(".agno-nb-run")
            expect(cards).to_have_count(4)
            # what the cell's own clicks stored shows on the cards already
            expect(output.locator(".agno-nb-label .agno-nb-good").first).to_be_visible()
            expect(output).to_contain_text("correction: Yes: we ship to Norway")
            listbox = output.get_by_role("listbox", name="sessions")
            # the browser is live: it also counts the run the %agno_label cell below
            # labelled bad after it was shown (run #4)
            expect(listbox).to_contain_text("✓2 ✗2")
            last = bars.nth(3)
            last.scroll_into_view_if_needed()

            # a click on 👍 labels run #4 good: the card says so, the list counts it
            last.get_by_role("button", name="good").click()
            expect(output).to_contain_text("run #4: good")
            expect(listbox).to_contain_text("✓3 ✗1")
            # the keyboard: focus the bar, press b
            last.press("b")
            expect(output).to_contain_text("run #4: bad")
            expect(listbox).to_contain_text("✓2 ✗2")
            # correct it: type the right answer, save with the button
            last.get_by_role("button", name="correct it", exact=True).click()
            box = last.locator("textarea")
            expect(box).to_be_visible()
            box.fill("Open 9:00-18:00, Monday to Saturday (closed Sundays).")
            last.get_by_role("button", name="Save", exact=True).click()
            expect(output).to_contain_text("run #4: saved")
            expect(output).to_contain_text("correction: Open 9:00-18:00, Monday to Saturday")
            edge = cards.nth(3).evaluate("e => getComputedStyle(e).borderLeftColor")
            plain = cards.nth(0).evaluate("e => getComputedStyle(e).borderLeftColor")
            assert edge != plain, (edge, plain)  # bad (red) vs good (green)
            cards.nth(3).scroll_into_view_if_needed()
            output.screenshot(path=str(ARTIFACTS / "e2e_label_browser.png"))

            # -- the compare widget ----------------------------------------------------------
            view_cell = page.locator(".jp-CodeCell").filter(has_text="view = result.widget()")
            expect(view_cell).to_have_count(1)
            view = view_cell.locator(".jp-OutputArea-output")
            pick = view.get_by_role("button", name="v1 is better", exact=True)
            expect(pick).to_have_count(4)
            tables = view.locator("table.agno-nb-cmp")
            expect(tables).to_have_count(4)
            expect(tables.nth(0)).to_contain_text("expected:")
            expect(view.locator("ins").first).to_be_visible()  # differences highlighted
            pick.nth(0).click()
            expect(view).to_contain_text("prompt 1: v1 picked (stored as labels)")
            picked_cell = tables.nth(0).locator("td.agno-nb-picked")
            expect(picked_cell).to_have_count(1)
            expect(picked_cell).to_contain_text("lookup_order returned")
            view.scroll_into_view_if_needed()
            view.screenshot(path=str(ARTIFACTS / "e2e_compare_widget.png"))
            page.screenshot(path=str(ARTIFACTS / "e2e_evaluate_notebook.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "e2e_evaluate_failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    # what the clicks stored, read back by another process (this one)
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("support_sessions", db_file=workdir / "tmp" / "evaluate_11.db")
    try:
        labels = {(x.run_index, x.rating, x.correction) for x in storage.labels()}
        assert (3, "bad", "Open 9:00-18:00, Monday to Saturday (closed Sundays).") in labels
        picks = {}
        for label in storage.labels():
            if "compare" in label.tags:
                name = storage.get_summary(label.session_id).session_name
                picks[name.split(":")[0]] = label.rating
        assert len(picks) == 8
        assert (picks["[eval] v1 #1"], picks["[eval] v2 #1"]) == ("good", "bad")  # the click
        assert (picks["[eval] v1 #2"], picks["[eval] v2 #2"]) == ("bad", "good")
    finally:
        storage.close()
