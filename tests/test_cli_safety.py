"""The CLI prints stored text as data (issue 14, defect 7) and ``demo --db`` takes a
URL or a path without ever printing a password (defect 8)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from agno_nb.cli import main
from agno_nb.sessions import AgentSession
from agno_nb.storage import SqliteStorage
from agno_nb.terminal import visible
from tests.conftest import require_postgres

#: C0 controls but newline and tab, DEL, C1 controls, bidirectional overrides
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
HOSTILE = "A\x1b]0;pwned\x07B\x1b[2JC\rD\x08E\x9bF\u202eG\x00H"


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.db"
    storage = SqliteStorage("agent_sessions", db_file=path)
    run = {
        "run_id": "r\x1b[1m",
        "messages": [
            {"role": "user", "content": f"first line\nsecond {HOSTILE}"},
            {"role": "assistant", "content": f"answer {HOSTILE}"},
        ],
    }
    storage.upsert(
        AgentSession(
            session_id=f"s{HOSTILE}",
            user_id=f"u{HOSTILE}",
            session_data={"session_name": f"n{HOSTILE}"},
            memory={"runs": [run]},
        )
    )
    storage.close()
    return path


def test_visible_shows_controls_as_escapes() -> None:
    assert visible("a\x1bb\x07c\rd\ne\tf") == "a\\x1bb\\x07c\\rd\ne\tf"
    assert visible("a\nb", newlines=False) == "a\\nb"
    assert visible("x\x9by\u202ez") == "x\\x9by\\u202ez"
    assert visible("Zürich é 日本 🙂") == "Zürich é 日本 🙂"
    assert not RAW_CONTROL.search(visible("".join(map(chr, range(0x00, 0xA0)))))


def test_sessions_and_show_print_no_raw_controls(
    hostile_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for argv in (
        ["sessions", str(hostile_db)],
        ["show", str(hostile_db), f"s{HOSTILE}"],
        ["show", str(hostile_db), f"missing{HOSTILE}"],
        ["sessions", str(hostile_db), f"--bogus{HOSTILE}"],
    ):
        with contextlib.suppress(SystemExit):
            main(argv)  # real sys.stdout / sys.stderr, captured
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
    listing, transcript, missing, bogus = outputs
    for text in outputs:
        assert not RAW_CONTROL.search(text), repr(text)
    assert "\\x1b]0;pwned\\x07" in listing and "\\r" in listing
    assert len(listing.strip().splitlines()) == 2  # header + one line per session
    # message bodies keep their line breaks readable
    assert "user: first line\nsecond A\\x1b]0;pwned" in transcript
    assert "\\u202e" in transcript
    assert "missing" in missing and "agno-nb: error" in missing
    assert "unrecognized arguments" in bogus


def test_sessions_json_escapes_controls(hostile_db: Path) -> None:
    out = io.StringIO()
    assert main(["sessions", str(hostile_db), "--json"], out=out) == 0
    assert not RAW_CONTROL.search(out.getvalue())
    assert "\\u001b" in out.getvalue()


def test_demo_takes_a_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "sub" / "demo.db"
    db.parent.mkdir()
    out = io.StringIO()
    assert main(["demo", "--db", f"sqlite:///{db}"], out=out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]  # no folder named after it
    assert SqliteStorage("agent_sessions", db_file=db).read("fixed_id_for_demo") is not None
    assert "capital of France" in out.getvalue()


def test_demo_on_postgres_never_prints_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Demo-pw-" + uuid.uuid4().hex[:8]
    url = make_url(require_postgres()).set(password=secret)
    text_url = url.render_as_string(hide_password=False)
    monkeypatch.chdir(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "agno_nb.cli", "demo", "--db", text_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert ":***@" in proc.stdout and "capital of France" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no folder, no SQLite file


def test_demo_on_unreachable_url_is_one_masked_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = "Gone-pw-" + uuid.uuid4().hex[:8]
    code = main(["demo", "--db", f"postgresql+psycopg://u:{secret}@127.0.0.1:1/db"])
    captured = capsys.readouterr()
    assert code == 2
    assert secret not in captured.out + captured.err
    assert captured.err.count("\n") == 1 and "agno-nb: error" in captured.err
    assert list(tmp_path.iterdir()) == []
