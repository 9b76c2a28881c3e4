"""The agno-nb command line: same core calls, masked URLs, exit code 2 on bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agno_nb.cli import main
from agno_nb.schema import LATEST_VERSION
from agno_nb.storage import SqliteStorage
from tests.session_factory import make_session


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    storage = SqliteStorage("agent_sessions", db_file=path, schema_version=1)
    for i in range(3):
        storage.upsert(make_session(f"s{i}", user="alice" if i else "bob", created_at=100 + i))
    storage.close()
    return path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_sessions_lists_newest_first(db: Path) -> None:
    code, text = run("sessions", f"sqlite:///{db}")
    assert code == 0
    assert "3 sessions" in text
    assert text.index("s2") < text.index("s1") < text.index("s0")
    code, text = run("sessions", str(db), "--user", "alice", "--json")
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["session_id"] for r in rows] == ["s2", "s1"]
    assert rows[0]["run_count"] == 2


def test_show_prints_the_transcript(db: Path) -> None:
    code, text = run("show", str(db), "s1")
    assert code == 0
    assert "question 0" in text and "answer 1" in text


def test_upgrade_dry_run_then_apply(db: Path) -> None:
    code, text = run("upgrade", str(db), "--dry-run")
    assert code == 0 and f"v1 -> v{LATEST_VERSION}" in text and "dry run" in text
    assert SqliteStorage("agent_sessions", db_file=db).current_version == 1
    code, text = run("upgrade", str(db))
    assert code == 0 and "applied" in text
    assert SqliteStorage("agent_sessions", db_file=db).current_version == LATEST_VERSION
    code, text = run("sessions", str(db))
    assert "3 sessions" in text


@pytest.mark.parametrize("table", ["agent-sessions", "x; drop", "1abc", "s" * 63])
def test_read_commands_open_tables_with_names_agno_accepts(tmp_path: Path, table: str) -> None:
    """Issue 21: ``--table agent-sessions`` (and other names the database takes
    quoted) were refused as "invalid table name"; they list, show and upgrade."""
    path = tmp_path / "named.db"
    storage = SqliteStorage(table, db_file=path, schema_version=1)
    for i in range(2):
        storage.upsert(make_session(f"s{i}", created_at=100 + i))
    storage.close()
    code, text = run("sessions", str(path), "--table", table)
    listed = [line.split()[0] for line in text.splitlines()[1:]]
    assert code == 0 and "2 sessions" in text and listed == ["s1", "s0"]
    code, text = run("show", str(path), "s1", "--table", table)
    assert code == 0 and "answer 1" in text
    code, text = run("upgrade", str(path), "--table", table)
    assert code == 0 and "applied" in text
    upgraded = SqliteStorage(table, db_file=path)
    assert upgraded.current_version == LATEST_VERSION and upgraded.count_runs("s0") == 2
    upgraded.close()
    code, text = run("sessions", str(path), "--table", table, "--json")
    assert code == 0 and [json.loads(line)["session_id"] for line in text.splitlines()] == [
        "s1",
        "s0",
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sessions", "mysql://u:pw@h/db"], "unsupported URL scheme"),
        (["sessions", "sqlite:///x.db", "--table", 'a"b'], "invalid table name 'a\"b': give"),
        (["sessions", "sqlite:///x.db", "--table", "x" * 64], "(1 to 63 bytes, no control"),
        (["sessions", "sqlite:///x.db", "--table", "t\n"], "invalid table name 't\\n'"),
        (["show", "sqlite:///{db}", "missing"], "no session 'missing'"),
        (["sessions", "postgresql+psycopg://u:topsecret@127.0.0.1:1/db"], "cannot reach Postgres"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    db: Path, argv: list[str], expected: str, capsys: Any
) -> None:
    argv = [a.replace("{db}", str(db)) for a in argv]
    code, _ = run(*argv)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1
    assert "topsecret" not in err and "pw@" not in err


def test_bad_flag_exits_2_through_the_real_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agno_nb.cli", "sessions"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "error" in proc.stderr and "Traceback" not in proc.stderr


def test_output_piped_into_head_is_not_an_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m agno_nb.cli demo --db {tmp_path / 'd.db'} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout.startswith("agno-nb demo: session 'fixed_id_for_demo'")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
