"""binder/: the repo2docker setup that opens the cookbook on Binder, Postgres included.

- ``binder/environment.yml`` names every dependency of ``pyproject.toml`` (runtime
  and the ``all`` extra) with the same version bounds, plus conda's ``postgresql``.
- ``binder/postBuild`` and ``binder/start`` really run here: against a temporary
  ``$HOME``, with this machine's ``initdb``/``pg_ctl`` and a free port, ``start``
  brings up a server that accepts connections and exports its URL, then execs
  the command it is given. (When the tests run as root they run the scripts as
  an unprivileged user, since ``initdb`` refuses to run as root.)
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
URL_RE = re.compile(r"^postgresql\+psycopg://postgres@127\.0\.0\.1:(\d+)/postgres$")


# -- dependencies ---------------------------------------------------------------------------


def _pyproject_requirements() -> dict[str, Requirement]:
    """Runtime dependencies plus the ``all`` extra, self-references expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    own = canonicalize_name(project["name"])
    found: dict[str, Requirement] = {}

    def add(spec: str) -> None:
        req = Requirement(spec)
        if canonicalize_name(req.name) == own:
            for extra in sorted(req.extras):
                for inner in extras[extra]:
                    add(inner)
            return
        found[canonicalize_name(req.name)] = req

    for spec in [*project["dependencies"], *extras.get("all", [])]:
        add(spec)
    return found


def _environment_entries() -> tuple[list[str], list[str]]:
    """(conda entries, pip entries) of binder/environment.yml's ``dependencies``."""
    conda: list[str] = []
    pip: list[str] = []
    section = None
    for raw in (BINDER / "environment.yml").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent == 0:
            section = text.rstrip(":")
            continue
        if section != "dependencies" or not text.startswith("- "):
            continue
        item = text[2:].strip()
        if item == "pip:":
            continue
        (pip if indent > 2 else conda).append(item)
    return conda, pip


def test_environment_names_every_dependency_of_pyproject() -> None:
    wanted = _pyproject_requirements()
    assert {"sqlalchemy", "duckdb", "psycopg", "jupyterlab"} <= set(wanted)  # parsed right
    _, pip = _environment_entries()
    listed: dict[str, Requirement] = {
        canonicalize_name(Requirement(p).name): Requirement(p) for p in pip
    }
    missing = sorted(set(wanted) - set(listed))
    assert not missing, f"binder/environment.yml lacks {missing}: add them to its pip list"
    for name, req in wanted.items():
        got = listed[name]
        assert got.specifier == req.specifier, (
            f"binder/environment.yml pins {got} but pyproject.toml says {req}: keep them equal"
        )
        assert req.extras <= got.extras, f"binder/environment.yml: {got} lacks extras {req.extras}"


def test_environment_has_postgres_python_and_agno_for_the_interop_notebook() -> None:
    conda, pip = _environment_entries()
    conda_names = {re.split(r"[=<>!~ ]", c, maxsplit=1)[0] for c in conda}
    assert {"python", "pip", "postgresql"} <= conda_names
    assert "agno==1.8.4" in pip


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_executable_bash(name: str) -> None:
    script = BINDER / name
    assert os.access(script, os.X_OK), f"binder/{name} must be executable (chmod +x)"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)


# -- running the scripts --------------------------------------------------------------------


def _postgres_bin() -> str | None:
    """A directory holding initdb and pg_ctl, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for directory in candidates:
        if all(os.access(Path(directory, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return directory
    return None


def _run_as() -> list[str]:
    """Command prefix to run as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
    pytest.skip("running as root without setpriv or an unprivileged user for initdb")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def home() -> Iterator[Path]:
    """A temporary $HOME owned by whoever runs the scripts."""
    path = Path(tempfile.mkdtemp(prefix="agno_nb_binder_"))
    prefix = _run_as()
    if prefix:
        user = prefix[1].split("=", 1)[1]
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(home: Path, path: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "AGNO_NB_"))}
    env.update(
        HOME=str(home),
        PATH=path,
        AGNO_NB_PGPORT=str(port),
        AGNO_NB_BINDER_SKIP_PIP="1",
        LC_ALL="C",
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_run_as(), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_postbuild_and_start_bring_up_postgres_and_export_its_url(home: Path) -> None:
    pg_bin = _postgres_bin()
    if pg_bin is None:
        pytest.skip("no initdb/pg_ctl on this machine (apt-get install postgresql)")
    port = _free_port()
    env = _env(home, f"{pg_bin}:/usr/local/bin:/usr/bin:/bin", port)
    pgdata = home / ".agno_nb" / "pgdata"

    built = _run([str(BINDER / "postBuild")], env)
    assert built.returncode == 0, built.stderr
    assert (pgdata / "PG_VERSION").is_file()
    again = _run([str(BINDER / "postBuild")], env)  # idempotent: a rebuild keeps the cluster
    assert again.returncode == 0, again.stderr

    try:
        started = _run([str(BINDER / "start"), "printenv", "AGNO_NB_POSTGRES_URL"], env)
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        match = URL_RE.match(url)
        assert match, f"start exported {url!r}"
        assert int(match.group(1)) == port

        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("create table binder_check (x int)"))
                conn.execute(sa.text("insert into binder_check values (42)"))
                assert conn.execute(sa.text("select x from binder_check")).scalar() == 42
        finally:
            engine.dispose()

        # Running start again (server already up) exports the same URL and still execs.
        second = _run([str(BINDER / "start"), "printenv", "AGNO_NB_POSTGRES_URL"], env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == url
    finally:
        stop = _run(
            [f"{pg_bin}/pg_ctl", "stop", f"--pgdata={pgdata}", "--mode=fast", "--wait"], env
        )
    assert stop.returncode == 0, stop.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_start_still_runs_the_server_command_when_postgres_is_missing(home: Path) -> None:
    env = _env(home, "/usr/bin:/bin", _free_port())
    if shutil.which("pg_ctl", path=env["PATH"]):
        pytest.skip("pg_ctl is on /usr/bin here; cannot simulate a missing Postgres")
    result = _run(
        [str(BINDER / "start"), "sh", "-c", 'echo "ran with url=${AGNO_NB_POSTGRES_URL:-unset}"'],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ran with url=unset"
    assert "Postgres did not start" in result.stderr
