"""The test runner: ``python3 -m pip install -U nox uv && nox`` runs the whole suite.

Sessions (``nox -l`` lists them, ``nox -s NAME -- ARGS`` runs one and hands ARGS to
its last command; see docs/contributing_tests.md):

- ``lint``: ruff (lint + format check) and mypy.
- ``agno1``: agno_nb with agno 1.8.4 (the ``test`` extra): the whole suite under
  ``tests/`` and ``notebooks/`` except what needs agno 3 in-process. Tests that run
  agno 3.1.10 as a subprocess get ``AGNO_NB_AGNO3_PYTHON`` pointed at a small
  agno 3.1.10 virtualenv this session builds from ``tests/agno3/requirements.txt``
  (kept in ``.nox/agno3-reader`` and rebuilt when that file changes), unless the
  variable already names an interpreter.
- ``agno3``: agno_nb installed beside agno 3.1.10 (the ``test-agno3`` extra plus
  ``tests/agno3/requirements.txt``): ``tests/agno3_live/`` and the agno 3 notebooks
  (which tests/conftest.py and notebooks/conftest.py collect only where agno >= 2 is
  installed, and ignore where agno 1.x is).

Environment variables pass through (``AGNO_NB_TEST_POSTGRES_URL``,
``AGNO_NB_REQUIRE_POSTGRES``, ``AGNO_NB_REQUIRE_BROWSER``, ``AGNO_NB_REQUIRE_AGNO3``...).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "agno1", "agno3"]

ROOT = Path(__file__).resolve().parent
AGNO3_REQUIREMENTS = ROOT / "tests" / "agno3" / "requirements.txt"
READER = ROOT / ".nox" / "agno3-reader"
STAMP = "agno_nb-requirements.sha256"


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check and mypy, as the project's habits require."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "agno_nb", "tests", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "agno_nb", "tests", "bench", "noxfile.py")
    session.run("mypy", "agno_nb")


@nox.session
def agno1(session: nox.Session) -> None:
    """The suite with agno 1.8.4 in-process (agno 3.1.10 only as a subprocess)."""
    session.install("-e", ".[test]")
    env = {"AGNO_NB_AGNO3_PYTHON": _agno3_reader(session), "AGNO_TELEMETRY": "false"}
    session.run("pytest", *session.posargs, env=env)


@nox.session
def agno3(session: nox.Session) -> None:
    """The tests and notebooks that need agno 3.1.10 in-process, beside agno_nb."""
    session.install("-e", ".[test-agno3]", "-r", str(AGNO3_REQUIREMENTS))
    python = str(Path(session.bin) / "python")
    env = {"AGNO_NB_AGNO3_PYTHON": python, "AGNO_TELEMETRY": "false"}
    session.run("pytest", *session.posargs, env=env)


def _agno3_reader(session: nox.Session) -> str:
    """The python of an agno 3.1.10 virtualenv for the subprocess tests.

    ``AGNO_NB_AGNO3_PYTHON`` wins when it names an existing file. Otherwise the
    virtualenv in ``.nox/agno3-reader`` is (re)built from tests/agno3/requirements.txt
    when missing or when that file changed since it was built.
    """
    given = os.environ.get("AGNO_NB_AGNO3_PYTHON", "")
    if given and Path(given).is_file():
        session.log(f"agno 3.1.10 for subprocess tests: {given} (AGNO_NB_AGNO3_PYTHON)")
        return given
    python = READER / "bin" / "python"
    digest = hashlib.sha256(AGNO3_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = READER / STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        session.log(f"agno 3.1.10 for subprocess tests: {python} (up to date)")
        return str(python)
    shutil.rmtree(READER, ignore_errors=True)
    base = str(Path(session.bin) / "python")
    uv = _uv()
    if uv:
        session.run(uv, "venv", "-q", "--python", base, str(READER), external=True)
        session.run(
            uv, "pip", "install", "-q", "--python", str(python),
            "-r", str(AGNO3_REQUIREMENTS), external=True,
        )  # fmt: skip
    else:
        session.run(base, "-m", "venv", str(READER), external=True)
        session.run(
            str(python), "-m", "pip", "install", "-q", "-r", str(AGNO3_REQUIREMENTS),
            external=True,
        )  # fmt: skip
    stamp.write_text(digest + "\n")
    return str(python)


def _uv() -> str | None:
    """The uv executable nox itself would use (the ``uv`` package), or one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
