"""Every URL form SQLAlchemy accepts keeps its secret out of every output path.

Each case gets a fresh secret (so no earlier case's remembered secret helps),
writes it into one URL form, and pushes that URL through one output path:
``mask_url`` on text and on URL objects, storage and engine reprs, errors of
``open_from_args``, the magics and the CLI (argparse's messages included),
and the log records written meanwhile.
"""

from __future__ import annotations

import io
import logging
import uuid
from contextlib import redirect_stderr
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy.engine import make_url

from agno_nb.cli import main
from agno_nb.connect import open_from_args
from agno_nb.errors import AgnoNbError
from agno_nb.urls import mask_url, remember_secrets, secrets_in
from tests.conftest import require_postgres

# {pw} is the secret; each form is one SQLAlchemy accepts (or a user types)
FORMS = [
    "postgresql+psycopg://u:{pw}@h:5432/db",
    "postgresql+psycopg://u:{pw}#frag@h/db",
    "postgresql+psycopg://u:{pw}/x@h/db",
    "postgresql+psycopg://u:{pw} with space@h/db",
    "postgresql+psycopg://u:{pw}?q@h/db",
    "postgresql+psycopg://u:{pw}:colon@h/db",
    "postgresql+psycopg://u:{pw}@ss@h/db",
    "postgresql+psycopg://u:{pw}%40enc@h/db",
    "postgresql+psycopg://:{pw}@h/db",
    "postgresql+psycopg://u@corp:{pw}@h/db",
    "postgresql+psycopg://u:{pw}@[::1]:5432/db",
    "postgresql+psycopg://u:{pw}@/db?host=/tmp",
    "postgresql+psycopg://u:{pw}@h1:5432,h2:5433/db",
    "postgresql://u@h/db?password={pw}",
    "postgresql://u@h/db?sslmode=require&password={pw}",
    "postgresql://u@h/db?password={pw} spaced&sslmode=require",
    "postgresql://u@h/db?sslpassword={pw}",
    "postgresql://u@h/db?PASSWORD={pw}",
    "mysql+pymysql://u:{pw}@h/db?charset=utf8",
    "duckdb:///md:db?motherduck_token={pw}",
    "foo://u:{pw}@h",
]


def fresh() -> str:
    return "Sx" + uuid.uuid4().hex[:12]


@pytest.mark.parametrize("form", FORMS)
def test_mask_url_masks_text_and_url_objects(form: str) -> None:
    pw = fresh()
    url = form.format(pw=pw)
    assert pw in secrets_in(url) or any(pw in s for s in secrets_in(url))
    in_text = f"cannot reach {url} (connection refused): start the server"
    for shown in (mask_url(url), mask_url(in_text), mask_url(repr(url))):
        assert pw not in shown and "***" in shown
    assert mask_url(in_text).endswith("start the server") or "?" in form
    try:
        parsed = make_url(url)
    except Exception:
        return
    assert pw not in mask_url(parsed)


@pytest.mark.parametrize("form", [f for f in FORMS if f.startswith("postgresql")])
def test_open_from_args_errors_are_masked(form: str, caplog: pytest.LogCaptureFixture) -> None:
    pw = fresh()
    url = form.format(pw=pw).replace("@h", "@127.0.0.1:1")
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for args in ((url,), ("postgres", url), ("duckdb", url), ("sqlite", url)):
        with pytest.raises(AgnoNbError) as info:
            open_from_args(*args)  # type: ignore[arg-type]
        texts += [str(info.value), repr(info.value)]
    texts += [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if pw in t], texts


@pytest.mark.parametrize("form", FORMS[:8])
def test_cli_argparse_and_error_lines_are_masked(form: str, tmp_path: Any) -> None:
    pw = fresh()
    url = form.format(pw=pw).replace("@h", "@127.0.0.1:1")
    ok = f"sqlite:///{tmp_path / 'x.db'}"
    err = io.StringIO()
    outputs: list[str] = []
    for argv in (
        ["sessions", ok, url],  # argparse: unrecognized arguments
        ["sessions", url, "--limit", "x"],  # argparse: invalid int
        ["sessions", url],  # cannot reach
        ["show", url, "s", "--bogus", url],
    ):
        out = io.StringIO()
        with redirect_stderr(err):
            try:
                code = main(argv, out=out)
            except SystemExit as exc:
                code = int(exc.code or 0)
        assert code == 2, argv
        outputs.append(out.getvalue())
    outputs.append(err.getvalue())
    assert "unrecognized arguments" in outputs[-1]
    assert not [t for t in outputs if pw in t], outputs


@pytest.mark.parametrize("form", FORMS[:8])
def test_magics_errors_are_masked(form: str, ip: InteractiveShell, magics: Any) -> None:
    pw = fresh()
    url = form.format(pw=pw).replace("@h", "@127.0.0.1:1")
    messages = []
    for line in (f"'{url}'", f"postgres '{url}'", f"'{url}' --bogus", f"'{url}' extra", url):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("agno_storage", line)
        messages.append(str(info.value))
    assert not [m for m in messages if pw in m], messages


@pytest.mark.parametrize(
    "form",
    [
        "{base}?password={pw}",
        "{base}?sslmode=disable&password={pw}",
        "{base}?password={pw}%20x%23y",
    ],
)
def test_engine_repr_hides_query_password(form: str) -> None:
    """The engine agno_nb creates shows no secret, and still connects with it."""
    from agno_nb.storage import PostgresStorage

    pw = fresh()
    url = form.format(base=require_postgres(), pw=pw)
    storage = PostgresStorage("t_engine_repr", db_url=url)
    try:
        assert storage.table_exists() in (True, False)  # it connected
        engine = storage.db_engine
        shown = [repr(engine), str(engine.url), repr(engine.url), repr(storage)]
        shown += [storage.display_url, storage.db_url, repr(engine.pool)]
        assert not [s for s in shown if pw in s], shown
        assert engine.dialect.create_connect_args(engine.url)[1].get("password") is None
    finally:
        storage.close()


def test_duckdb_engine_repr_hides_secret_parameters(tmp_path: Any) -> None:
    from agno_nb.storage import DuckDbStorage

    pw = fresh()
    storage = DuckDbStorage("t", db_url=f"duckdb:///{tmp_path / 'x.duckdb'}?motherduck_token={pw}")
    shown = [repr(storage.db_engine), str(storage.db_engine.url), repr(storage)]
    shown.append(storage.display_url)
    assert not [s for s in shown if pw in s], shown
    storage.close()


def test_a_spaced_secret_masks_its_secret_pieces_but_not_common_words() -> None:
    """A password with spaces is masked whole and by its secret-looking pieces, yet
    the words between them ("with", "space") keep showing in later, unrelated output
    (a test's tmp path named test_status_with_... once came out as test_status_***_...)."""
    pw = fresh()
    remember_secrets(f"postgresql+psycopg://u:{pw} with space@h/db")
    assert pw not in mask_url(f"split argument: {pw}")
    later = "/tmp/test_status_with_no_agents/a.db: 1 session, no space left"
    assert mask_url(later) == later
