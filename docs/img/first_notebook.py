"""Screenshots of a new user's first notebook: the README's notebook cells, run in JupyterLab.

    python docs/img/first_notebook.py [--readme] [--after-demo]

Builds a notebook from the ``## In a notebook`` code blocks of README.md (plus one
``%%agno_chat`` cell), serves it with JupyterLab on 127.0.0.1 (free port, random
token, temporary folders, as ``tests/test_e2e_browser.py`` does), runs every cell in
headless Chromium from Debian's package (``/usr/bin/chromium``) through Playwright,
and saves under ``test-artifacts/first_notebook/`` (ignored by git): each code cell
with its output, and the whole page. It prints how many outputs each cell showed (the
goal: one per action). ``--readme`` also writes the session browser's output to
``docs/img/session_browser.png``, the picture the README shows. ``--after-demo``
instead runs ``agno-nb demo`` first and chats in its session with an agent whose history
is off (saved under ``test-artifacts/after_demo/``): the cell says why it does not know.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "first_notebook"
README_IMAGE = ROOT / "docs" / "img" / "session_browser.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  await app.commands.execute('notebook:run-all-cells');
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const json = c.model.toJSON();
    return {types: json.outputs.map(o => o.output_type), source: json.source};
  });
}"""


def readme_cells() -> list[str]:
    """The code blocks of the README's ``## In a notebook`` section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## In a notebook\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no '## In a notebook' section"
    return [code.strip() for code in re.findall(r"```python\n(.*?)```", match.group(1), re.S)]


def write_notebook(folder: Path, *, after_demo: bool = False) -> Path:
    cells = [*readme_cells(), "%%agno_chat\nAnd what is the capital of Chile?"]
    if after_demo:
        from agno_nb.demo import run_demo

        run_demo(folder / "tmp" / "data.db", out=io.StringIO())
        cells = [
            cells[0],
            "from agno_nb import Agent\n\nagent = Agent(session_id='fixed_id_for_demo')",
            "%%agno_chat\nWhat was my last question?",
        ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = folder / "first_notebook.ipynb"
    nbformat.write(nb, path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_lab(home: Path, folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    settings = home / "lab-settings" / "@jupyterlab"
    for name, values in {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false"},
    }.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())
    log = (home / "jupyter.log").open("w")
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
            f"--ServerApp.root_dir={folder}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={home / 'lab-settings'}",
            f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise SystemExit(f"JupyterLab exited early; see {home / 'jupyter.log'}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("JupyterLab did not start in 120 s") from None
            time.sleep(0.5)
    return server, base, token


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    after_demo = "--after-demo" in argv
    out = OUT.with_name("after_demo") if after_demo else OUT
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        folder = home / "work"
        (folder / "tmp").mkdir(parents=True)
        notebook = write_notebook(folder, after_demo=after_demo)
        server, base, token = start_lab(home, folder)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.set_default_timeout(60_000)
                page.goto(f"{base}/lab/tree/{notebook.name}?token={token}")
                page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
                page.wait_for_function(
                    "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                )
                cells = page.evaluate(RUN_ALL)
                page.wait_for_timeout(2_000)  # widgets render after the kernel replies
                for i, cell in enumerate(cells, start=1):
                    first = cell["source"].splitlines()[0]
                    print(f"cell {i}: {len(cell['types'])} output(s) {cell['types']}  <- {first}")
                code = page.locator(".jp-CodeCell")
                for i in range(code.count()):
                    code.nth(i).scroll_into_view_if_needed()
                    code.nth(i).screenshot(path=str(out / f"cell_{i + 1}.png"))
                page.screenshot(path=str(out / "notebook.png"), full_page=True)
                if "--readme" in argv and not after_demo:
                    history = code.filter(has_text="%agno_history")
                    output = history.locator(".jp-OutputArea-output").first
                    output.scroll_into_view_if_needed()
                    output.screenshot(path=str(README_IMAGE))
                    print(f"wrote {README_IMAGE} ({README_IMAGE.stat().st_size:,} bytes)")
                browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
