"""Screenshots of a new user's first notebook: the README's notebook cells, run in JupyterLab.

    python docs/img/first_notebook.py [--readme] [--after-demo]

Builds a notebook from the ``## In a notebook`` code blocks of README.md (plus one
``%%agno_chat`` cell), serves it with JupyterLab on 127.0.0.1 (free port, random
token, temporary folders: ``tests/jupyterlab.py``, as the browser tests do), runs every cell in
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
import re
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import nbformat

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: tests/ is importable from the repo root
    sys.path.insert(0, str(ROOT))

from tests.jupyterlab import CHROMIUM, CHROMIUM_ARGS, RUN_ALL, RUN_ALL_S, running_lab  # noqa: E402

OUT = ROOT / "test-artifacts" / "first_notebook"
README_IMAGE = ROOT / "docs" / "img" / "session_browser.png"


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


def stop(message: str) -> NoReturn:
    raise SystemExit(message)


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
        lab = running_lab(home, folder, notebook.name, start_s=120, fail=stop)
        with lab as (url, _log), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            )
            cells = page.evaluate(RUN_ALL, RUN_ALL_S * 1000)
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
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
