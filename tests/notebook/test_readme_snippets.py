"""The README and docs/*.md as a newcomer meets them: their Python snippets run as
pasted (issue 13: an undefined ``session_id``), their relative links resolve, and the
README stays short with the notebook first (issue 22).

A snippet that cannot run here (it needs a server, or names placeholders) carries
``<!-- not run: why -->`` on the line above it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```python\n(.*?)```", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def python_blocks(page: Path, section: str | None = None) -> list[str]:
    """The runnable ```python blocks of a page (of one ``## section`` when given)."""
    text = page.read_text(encoding="utf-8")
    if section is not None:
        match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        assert match, f"{page.name} has no '## {section}' section"
        text = match.group(1)
    return [code for skip, code in BLOCK.findall(text) if not skip]


def is_notebook_code(code: str) -> bool:
    return any(line.lstrip().startswith("%") for line in code.splitlines())


def test_storage_snippet_runs_as_pasted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [snippet] = python_blocks(README, "Storage in Python")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    scope: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # a NameError here is the bug
    storage = scope["storage"]
    session_id = scope["session_id"]
    assert storage.count_runs(session_id) == 2  # type: ignore[attr-defined]
    storage.close()  # type: ignore[attr-defined]
    assert (tmp_path / "tmp" / "data.db").exists()


def test_readme_notebook_workflow_runs_in_a_shell(
    ip: Any, magics: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's notebook cells, in order, in one IPython shell: each runs cleanly,
    and the agent with history on names the last question."""
    from IPython.utils.capture import capture_output

    cells = python_blocks(README, "In a notebook")
    assert len(cells) == 4
    monkeypatch.chdir(tmp_path)
    for cell in cells:
        with capture_output():
            result = ip.run_cell(cell)
        assert result.success, (cell, result.error_in_exec or result.error_before_exec)
    answer = ip.user_ns["agent"].run("What was my last question?").content
    assert answer == 'Your last question was: "What is the capital of France?"'
    assert magics.storage.count_sessions(user_id="alice") == 1


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_docs_snippets_run_as_pasted(
    page: Path, ip: Any, magics: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each docs page's runnable snippets, in order, in one scope (Python) or shell
    (notebook code), from an empty folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    scope: dict[str, object] = {}
    for code in python_blocks(page):
        if is_notebook_code(code):
            result = ip.run_cell(code)
            assert result.success, (page.name, code)
        else:
            exec(compile(code, str(page), "exec"), scope)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        missing_anchor = bool(anchor) and resolved.suffix == ".md"
        if not resolved.exists() or (missing_anchor and anchor not in anchors(resolved)):
            broken.append(target)
    assert not broken, f"{page.name}: links that do not resolve: {broken}"


def test_readme_is_short_and_starts_with_the_two_commands_and_the_notebook() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 160
    commands = re.findall(r"```bash\n(.*?)\n```", text, re.S)[:2]
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && agno-nb demo",
        "python3 -m pip install -U nox uv && nox",
    ]
    first = "\n".join(lines[:70])
    for step in ("%load_ext agno_nb", "%agno_storage", "agent.run(", "%agno_sessions"):
        assert step in first, step
    assert "%agno_history" in first and "docs/img/session_browser.png" in first
    assert "OfflineModel" in "\n".join(lines[:30])  # Agent() is offline, said near the top
    assert (ROOT / "docs" / "img" / "session_browser.png").stat().st_size < 200_000


def test_one_postgres_url_for_users_and_the_test_url_in_contributing() -> None:
    readme = README.read_text(encoding="utf-8")
    assert set(re.findall(r"postgresql\+psycopg://\S+?(?=[`\s)])", readme)) == {
        "postgresql+psycopg://ai:ai@localhost:5532/ai"
    }
    assert "AGNO_NB_TEST_POSTGRES_URL" in (ROOT / "docs" / "contributing.md").read_text()


def test_contributing_says_the_browser_test_needs_chromium() -> None:
    text = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    assert "apt-get install chromium" in text and "/usr/bin/chromium" in text


def test_notebook_checkpoints_are_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "notebooks/.ipynb_checkpoints/" in ignored
