"""Build the cookbook notebooks from ``notebooks/src/*.py`` and run them.

Each source is a percent-format script: ``# %%`` starts a code cell and
``# %% [markdown]`` a Markdown cell whose lines are ``# ``-prefixed. This script
turns each source into ``notebooks/<name>.ipynb``, executes it top to bottom in a
fresh kernel of the current Python (working directory: ``notebooks/``), and saves
it with its outputs, execution counts 1..N, deterministic cell ids, and no widget
state or timing metadata. ``tests/test_notebooks_hygiene.py`` checks the result.

    python notebooks/_build.py               # build and run every notebook
    python notebooks/_build.py 03 05         # only these (by number or name)
    python notebooks/_build.py --no-execute  # write the cells only (outputs empty)

The Postgres notebook needs a server (AGNO_NB_POSTGRES_URL, then
AGNO_NB_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
CELL_TIMEOUT = 300


def source_files() -> list[Path]:
    """Every notebook source, in cookbook order."""
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def parse_cells(text: str) -> list[tuple[str, str]]:
    """``(cell_type, source)`` pairs of a percent-format script."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            cells.append((kind, []))
            continue
        if not cells:
            if line.strip():
                raise ValueError(f"text before the first '# %%' marker: {line!r}")
            continue
        kind, lines = cells[-1]
        if kind == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"a Markdown cell line must start with '#': {line!r}")
            line = line[2:] if line.startswith("# ") else line[1:]
        lines.append(line)
    out = []
    for kind, lines in cells:
        source = "\n".join(lines).strip("\n")
        if not source.strip():
            raise ValueError("empty cell")
        out.append((kind, source))
    return out


def build(path: Path) -> Any:
    """The notebook (no outputs) for one source file."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for index, (kind, source) in enumerate(parse_cells(path.read_text(encoding="utf-8"))):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
        cell["id"] = f"cell-{index:02d}"
        nb.cells.append(cell)
    return nb


def clean(nb: Any) -> Any:
    """Drop widget state, timing and other run-specific metadata."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("scrolled", None)
        cell.metadata.pop("collapsed", None)
    return nb


def execute(nb: Any) -> Any:
    """Run every cell in order in a fresh kernel of this Python, in ``notebooks/``."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        resources={"metadata": {"path": str(HERE)}},
        store_widget_state=False,
        record_timing=False,
        allow_errors=False,
    )
    client.execute()
    return nb


def output_path(source: Path) -> Path:
    return HERE / f"{source.stem}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write cells without outputs")
    args = parser.parse_args(argv)
    chosen = [
        s
        for s in source_files()
        if not args.only or any(s.stem == o or s.stem.startswith(o + "_") for o in args.only)
    ]
    if not chosen:
        parser.error(f"no notebook source matches {args.only}")
    for source in chosen:
        nb = build(source)
        if not args.no_execute:
            print(f"running {source.stem} ...", flush=True)
            execute(nb)
        nbformat.validate(clean(nb))
        nbformat.write(nb, output_path(source))
        print(f"wrote {output_path(source).relative_to(HERE.parent)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
