"""Issue 21, items 11 and 12: reads never create files or folders, and read-only
SQLite opens work on read-only folders and mounts without side files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agno_nb.connect import open_from_args
from agno_nb.errors import BackendUnavailableError
from agno_nb.storage import DuckDbStorage, SqliteStorage
from tests.agno_fixtures import PINNED_DB
from tests.migrate_helpers import run_cli
from tests.session_factory import make_session

ROOT = Path(__file__).resolve().parents[2]


# -- item 11: opening creates nothing ----------------------------------------------------


@pytest.mark.parametrize("scheme", ["", "sqlite:///", "duckdb:///"])
@pytest.mark.parametrize("command", [["sessions"], ["show", "--", "s1"], ["upgrade"]])
def test_cli_read_of_a_missing_file_is_one_line_and_creates_nothing(
    tmp_path: Path, scheme: str, command: list[str]
) -> None:
    target = tmp_path / "typo" / "deeper" / "x.db"
    argv = [command[0], f"{scheme}{target}", *command[1:]]
    if command[0] == "show":
        argv = ["show", f"{scheme}{target}", "s1"]
    code, out, err = run_cli(*argv)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "no database file at" in err and str(target) in err
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_open_says_new_database_and_the_first_write_creates_it(
    tmp_path: Path, backend: str
) -> None:
    target = tmp_path / "no" / "such" / "folder" / f"x.{backend}"
    storage = open_from_args(backend, str(target))
    try:
        assert storage.opened_note is not None
        assert "new database" in storage.opened_note
        assert "created at the first write" in storage.opened_note
        assert storage.list_sessions() == [] and storage.count_sessions() == 0
        assert storage.read("s1") is None and not storage.table_exists()
        assert not (tmp_path / "no").exists()  # reads created nothing
        storage.upsert(make_session("s1"))
        assert target.is_file()
        assert storage.pending_file is None
        assert [s.session_id for s in storage.list_sessions()] == ["s1"]
    finally:
        storage.close()
    again = open_from_args(backend, str(target))
    try:
        assert again.opened_note is None and again.count_sessions() == 1
    finally:
        again.close()


@pytest.mark.parametrize("cls", [SqliteStorage, DuckDbStorage])
def test_storage_constructor_creates_nothing_until_a_write(tmp_path: Path, cls: Any) -> None:
    target = tmp_path / "sub" / "x.db"
    storage = cls(db_file=str(target))
    try:
        assert storage.get_all_session_ids() == []
        assert not (tmp_path / "sub").exists()
        storage.create()
        assert target.is_file()
    finally:
        storage.close()


def test_file_created_by_another_process_is_read(tmp_path: Path) -> None:
    target = tmp_path / "later.db"
    reader = SqliteStorage(db_file=str(target))
    writer = None
    try:
        assert reader.count_sessions() == 0 and not target.exists()
        writer = SqliteStorage(db_file=str(target))
        writer.upsert(make_session("w1"))
        assert reader.count_sessions() == 1
    finally:
        reader.close()
        if writer is not None:
            writer.close()


def test_magic_opening_a_missing_file_says_so(
    magics: Any, ip: Any, tmp_path: Path, capsys: Any
) -> None:
    from IPython.utils.capture import capture_output

    target = tmp_path / "no" / "such" / "x.db"
    with capture_output() as cap:
        ip.run_line_magic("agno_storage", f"sqlite {target}")
    printed = cap.stdout + "".join(str(o.data.get("text/plain", "")) for o in cap.outputs)
    assert "new database" in printed and "created at the first write" in printed
    assert not (tmp_path / "no").exists()


# -- item 12: read-only SQLite -----------------------------------------------------------


def _wal_file(folder: Path) -> Path:
    """An agno_nb-written SQLite file in WAL mode, closed (no side files left)."""
    path = folder / "wal.db"
    storage = SqliteStorage(db_file=str(path))
    storage.upsert(make_session("s1"))
    storage.close()
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()
    return path


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder another (unprivileged) user can read: pytest's own tmp is private."""
    folder = Path(tempfile.mkdtemp(prefix="agno_nb_ro_"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def _as_reader(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a user who cannot write the folder (root writes anything)."""
    argv = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop write permission")
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/tmp"}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=120, cwd="/", env=env, check=False
    )


READ = """
import sys
from agno_nb.cli import main
sys.exit(main(sys.argv[1:] or {argv!r}))
"""


def test_read_only_on_a_read_only_folder(shared_folder: Path) -> None:
    wal = _wal_file(shared_folder)
    journal = shared_folder / "agno.db"  # agno 1.8.4's own file: rollback journal
    shutil.copyfile(PINNED_DB, journal)
    for f in (wal, journal):
        f.chmod(0o644)
    shared_folder.chmod(0o555)
    before = sorted(p.name for p in shared_folder.iterdir())

    done = _as_reader(READ.format(argv=["sessions", str(journal), "--read-only"]))
    assert done.returncode == 0, done.stderr
    assert "3 sessions" in done.stdout and "(read-only)" in done.stdout
    assert "%3A" not in done.stdout

    # a WAL file nobody has open needs its -shm file, which this folder refuses:
    # one line that says what to do (not "check that the folder ... is writable")
    done = _as_reader(READ.format(argv=["sessions", str(wal), "--read-only"]))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--immutable" in done.stderr
    assert "%3A" not in done.stderr

    done = _as_reader(READ.format(argv=["sessions", str(wal), "--immutable"]))
    assert done.returncode == 0, done.stderr
    assert "1 session" in done.stdout and "immutable" in done.stdout
    assert sorted(p.name for p in shared_folder.iterdir()) == before


def test_read_only_leaves_a_journal_file_without_side_files(tmp_path: Path) -> None:
    path = tmp_path / "agno.db"
    shutil.copyfile(PINNED_DB, path)
    data = path.read_bytes()
    for flag in ("--read-only", "--immutable"):
        code, _, err = run_cli("sessions", str(path), flag)
        assert code == 0, err
        code, _, err = run_cli("show", str(path), "agno-s0", flag)
        assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agno.db"]
    assert path.read_bytes() == data


def test_immutable_wal_file_leaves_no_side_files(tmp_path: Path) -> None:
    wal = _wal_file(tmp_path)
    storage = open_from_args("sqlite", str(wal), immutable=True)
    try:
        assert storage.count_sessions() == 1
        assert "immutable" in storage.display_url and "%" not in storage.display_url
        with pytest.raises(Exception, match="read-only"):
            storage.upsert(make_session("s2"))
    finally:
        storage.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wal.db"]


def test_read_only_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="does not exist: check the path"):
        open_from_args("sqlite", str(tmp_path / "nope" / "x.db"), read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_read_only_path_with_url_characters(tmp_path: Path) -> None:
    folder = tmp_path / "a b%20#?c"
    folder.mkdir()
    path = folder / "x.db"
    shutil.copyfile(PINNED_DB, path)
    storage = open_from_args("sqlite", str(path), read_only=True)
    try:
        assert storage.count_sessions() == 3
        assert str(path) in storage.display_url
    finally:
        storage.close()


def test_read_only_mount_reads_immutable(shared_folder: Path) -> None:
    """On a real read-only mount (bind-mounted here when allowed), --read-only
    reads a WAL file without side files: nobody can write there."""
    source = shared_folder / "src"
    mount = shared_folder / "mnt"
    source.mkdir()
    mount.mkdir()
    _wal_file(source)
    done = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(source), str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {done.stderr.strip()[:120]}")
    try:
        code, out, err = run_cli("sessions", str(mount / "wal.db"), "--read-only")
        assert code == 0, err
        assert "1 session" in out and "immutable" in out
        assert sorted(p.name for p in source.iterdir()) == ["wal.db"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize(
    "spelled",
    [
        "sqlite:///{p}?mode=ro",
        "sqlite:///file:{p}?mode=ro&uri=true",
        "sqlite:///file:{p}?uri=true",
        "duckdb:///{p}",
    ],
)
def test_urls_of_a_missing_file_create_nothing(tmp_path: Path, spelled: str) -> None:
    target = tmp_path / "sub" / "m.db"
    code, out, err = run_cli("sessions", spelled.format(p=target))
    assert code == 1 and out == "" and "no database file at" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cls", [SqliteStorage, DuckDbStorage])
def test_engine_used_directly_writes_to_the_file(tmp_path: Path, cls: Any) -> None:
    """Code that writes through ``storage.db_engine`` itself (agno 1.x exposes it)
    reaches the file, never the stand-in of a read made before."""
    import sqlalchemy as sa

    target = tmp_path / "new" / "x.db"
    storage = cls(db_file=str(target))
    try:
        assert storage.count_sessions() == 0  # a read: the stand-in
        with storage.db_engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE direct (x INTEGER)"))
        assert target.is_file()
        with storage.db_engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
        assert "direct" in names
    finally:
        storage.close()
