"""The cookbook notebooks are committed fresh, in order, and documented.

nbval (``pytest`` from the repo root) re-runs them and compares outputs; these
checks catch what nbval cannot: a notebook whose cells were edited without
re-running it (its cells no longer match ``notebooks/src``), cells run out of
order, saved widget state, stored errors, a notebook missing from the README,
and a sanitize file that masks too little or too much.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = ROOT / "notebooks"
EXPECTED = [
    "01_sqlite_storage.ipynb",
    "02_postgres_storage.ipynb",
    "03_duckdb_analytics.ipynb",
    "04_session_history_widgets.ipynb",
    "05_schema_upgrades.ipynb",
    "06_inspect_and_evaluate.ipynb",
    "07_agno_interop.ipynb",
    "08_agno3_sessions.ipynb",
    "09_migrate_to_agno3.ipynb",
    "10_agno3_live.ipynb",
    "11_evaluate.ipynb",
]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _module(NOTEBOOKS_DIR / "_build.py", "agno_nb_notebooks_build")


def _read(name: str) -> Any:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def _code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_cookbook_is_exactly_these_notebooks() -> None:
    found = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert found == EXPECTED
    assert [p.stem for p in BUILD.source_files()] == [Path(n).stem for n in EXPECTED]


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_matches_its_source(name: str) -> None:
    """Edited ``notebooks/src`` without re-running ``python notebooks/_build.py``?"""
    committed = _read(name)
    built = BUILD.build(NOTEBOOKS_DIR / "src" / name.replace(".ipynb", ".py"))
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], f"{name} is stale: run `python notebooks/_build.py {name[:2]}` and commit the result"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_was_run_in_order_and_saved_clean(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata, f"{name} has saved widget state: rebuild it"
    cells = _code_cells(nb)
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{name}: execution counts {counts} are not 1..{len(cells)} (a cell was skipped, "
        "re-run or run out of order): rebuild with notebooks/_build.py"
    )
    assert any(c.outputs for c in cells), f"{name} was saved without outputs"
    for cell in cells:
        assert "execution" not in cell.metadata, f"{name}: timing metadata in cell {cell.id}"
        for output in cell.outputs:
            assert output.output_type != "error", f"{name}: stored error in cell {cell.id}"
            if output.output_type == "execute_result":
                assert output.execution_count == cell.execution_count
            if output.output_type == "stream" and output.name == "stderr":
                assert "Traceback" not in output.text, f"{name}: traceback in cell {cell.id}"
            assert WIDGET_STATE not in output.get("data", {})


@pytest.mark.parametrize("name", EXPECTED)
def test_ignored_outputs_are_rare_and_explained(name: str) -> None:
    marked = [c for c in _code_cells(_read(name)) if "NBVAL_IGNORE_OUTPUT" in c.source]
    assert len(marked) <= 2, f"{name}: too many cells skip output comparison"
    for cell in marked:
        line = next(ln for ln in cell.source.splitlines() if "NBVAL_IGNORE_OUTPUT" in ln)
        reason = line.split("NBVAL_IGNORE_OUTPUT", 1)[1].strip(" :-—")
        assert len(reason) > 10, f"{name}: say why the output of cell {cell.id} can't be stable"


def _cookbook_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Cookbook\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    assert match, "README.md has no '## Cookbook' section"
    return match.group(1)


def test_readme_lists_every_notebook_and_binder() -> None:
    section = _cookbook_section()
    for name in EXPECTED:
        assert f"notebooks/{name}" in section, f"README's Cookbook section does not list {name}"
    assert "mybinder.org/v2/gh/" in section
    assert "AGNO_NB_POSTGRES_URL" in section


# -- the sanitize file ----------------------------------------------------------------------


def _sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((NOTEBOOKS_DIR / "nbval_sanitize.cfg").read_text())
    assert len(patterns) >= 8
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def test_sanitize_masks_what_varies() -> None:
    varying = (
        "run #1 · <code>0e53cd9b-e282-4e42-afae-820c58fa3403</code> · 2026-11-21 09:20:10 UTC"
        " · in 5 · out 16 · total 21 tokens · 0.03 s | 2025-03-03 09:01:00+00:00"
        " | {'time': 4.5e-05} | created 1763716810 | sqlite:////home/u/agno_nb/notebooks/tmp/data.db"
        " | postgresql+psycopg://ai:***@db:5532/ai | /tmp/tmpa1b2c3d4/x | <object at 0x7f3a2b>"
        " | tool call: add 0.4 ms"
    )
    assert _sanitize(varying) == (
        "run #1 · <code>UUID</code> · TIMESTAMP · in 5 · out 16 · total 21 tokens · DURATION s"
        " | TIMESTAMP | {'time': DURATION} | created EPOCH | sqlite:NOTEBOOK_DIR/tmp/data.db"
        " | POSTGRES_URL | TMPDIR/x | <object at 0xADDRESS>"
        " | tool call: add DURATION ms"
    )


def test_sanitize_leaves_content_alone() -> None:
    stable = (
        "session s04-alice · 3 runs · 2025-03-03 · total 21 tokens · order 1001 is shipped · "
        "call_56b81fb58064e8a4 · 110.00 USD · tmp/few_shot.jsonl"
    )
    assert _sanitize(stable) == stable


# -- the Postgres notebook without a server -------------------------------------------------


def _run_postgres_notebook(require: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["AGNO_NB_POSTGRES_URL"] = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/none"
    env["AGNO_NB_REQUIRE_POSTGRES"] = "1" if require else "0"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-o",
            "addopts=",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "-rsf",
            "-q",
            "notebooks/02_postgres_storage.ipynb",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_postgres_notebook_skips_with_the_reason_without_a_server() -> None:
    result = _run_postgres_notebook(require=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ skipped", result.stdout), result.stdout
    assert "02_postgres_storage.ipynb needs Postgres" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


def test_postgres_notebook_fails_without_a_server_when_required() -> None:
    result = _run_postgres_notebook(require=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "AGNO_NB_REQUIRE_POSTGRES=1 forbids skipping" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr
