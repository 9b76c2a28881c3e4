"""The README's Python snippets run as pasted (issue 13: an undefined ``session_id``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of one ``## section`` of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README.md has no '## {section}' section"
    return re.findall(r"```python\n(.*?)```", match.group(1), re.S)


def test_storage_snippet_runs_as_pasted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [snippet] = python_blocks("Storage")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    scope: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # a NameError here is the bug
    storage = scope["storage"]
    session_id = scope["session_id"]
    assert storage.count_runs(session_id) == 2  # type: ignore[attr-defined]
    storage.close()  # type: ignore[attr-defined]
    assert os.path.exists(tmp_path / "tmp" / "data.db")


def test_readme_says_the_browser_test_needs_chromium() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "apt-get install chromium" in text and "/usr/bin/chromium" in text


def test_notebook_checkpoints_are_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "notebooks/.ipynb_checkpoints/" in ignored
