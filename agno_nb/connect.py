"""Open a storage from "backend + target" or a bare URL, as the magics and the CLI take it.

``open_from_args("sqlite", "tmp/data.db")``, ``open_from_args("duckdb", "x.duckdb",
read_only=True)``, ``open_from_args("postgresql+psycopg://ai:ai@host/ai")``.
Every failure becomes an :class:`~agno_nb.errors.AgnoNbError` whose message is
one line, says what to do and never contains a password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agno_nb.errors import AgnoNbError, BackendUnavailableError, InvalidNameError
from agno_nb.urls import mask_url, remember_secrets

__all__ = ["BACKENDS", "backend_of_url", "describe_error", "is_expected_error", "open_from_args"]

_DRIVER_MODULES = ("sqlalchemy", "psycopg", "duckdb", "_duckdb", "sqlite3", "pandas")

BACKENDS = ("sqlite", "duckdb", "postgres")
#: other names a user may give a backend by
_ALIASES = {"postgresql": "postgres", "pg": "postgres"}

_SCHEMES = {
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "postgres": "postgres",
    "postgresql": "postgres",
}

_USAGE = "use sqlite, duckdb or postgres followed by a file path or URL, or a bare SQLAlchemy URL"


def backend_of_url(url: str) -> str:
    """The backend name of a SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgres``)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    try:
        return _SCHEMES[scheme]
    except KeyError:
        raise BackendUnavailableError(f"unsupported URL scheme {scheme!r}: {_USAGE}") from None


def _postgres_url(url: str) -> str:
    """Plain ``postgres(ql)://`` URLs get the psycopg 3 driver, which agno_nb ships with."""
    head, sep, rest = url.partition("://")
    if sep and head.lower() in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + rest
    return url


def is_expected_error(exc: BaseException) -> bool:
    """True for errors a user can cause and fix (bad input, database trouble),
    as opposed to bugs, which should keep their traceback."""
    if isinstance(exc, AgnoNbError | OSError | ValueError | ImportError):
        return True
    module = type(exc).__module__ or ""
    return module.split(".", 1)[0] in _DRIVER_MODULES


def describe_error(exc: BaseException, *, url: str | None = None) -> str:
    """One masked line describing ``exc`` (the first line of its message)."""
    if isinstance(exc, AgnoNbError):
        text = str(exc)
    else:
        orig = getattr(exc, "orig", None)  # SQLAlchemy DBAPIError: the driver's message
        message = str(orig if orig is not None else exc).strip()
        text = f"{type(orig if orig is not None else exc).__name__}: {message}"
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    remember_secrets(url)
    return mask_url(line)


def _check_target(backend: str, target: str | None) -> None:
    if not target:
        example = {
            "sqlite": "tmp/data.db",
            "duckdb": "tmp/data.duckdb",
            "postgres": "postgresql+psycopg://user:pass@host:5432/db",
        }[backend]
        raise BackendUnavailableError(f"missing TARGET for {backend}: e.g. {backend} {example}")


@dataclass(frozen=True)
class _Opening:
    """What the user asked to open, once parsed."""

    table: str
    url: str | None
    path: str | None
    schema: str | None
    read_only: bool
    immutable: bool
    #: keyword arguments every storage class takes (mode, auto_upgrade_schema)
    common: dict[str, Any]


def _construct(
    backend: str,
    *,
    url: str | None,
    path: str | None,
    table: str,
    mode: str,
    schema: str | None,
    auto_upgrade: bool,
    read_only: bool,
    immutable: bool = False,
) -> Any:
    common: dict[str, Any] = {"mode": mode, "auto_upgrade_schema": auto_upgrade}
    return _OPENERS[backend](_Opening(table, url, path, schema, read_only, immutable, common))


def _open_sqlite(o: _Opening) -> Any:
    from agno_nb.storage import SqliteStorage

    if o.read_only or o.immutable:
        from agno_nb.storage.sqlite_files import open_read_only_url

        source = o.path if o.path is not None else _sqlite_path(o.url)
        if source is None or source in (":memory:", "memory"):
            raise BackendUnavailableError("--read-only needs a SQLite file, not memory")
        ro_url = open_read_only_url(source, immutable=o.immutable)
        return SqliteStorage(o.table, db_url=ro_url, **o.common)
    if o.url is not None:
        return SqliteStorage(o.table, db_url=o.url, **o.common)
    if o.path in (":memory:", "memory"):
        return SqliteStorage(o.table, **o.common)
    return SqliteStorage(o.table, db_file=o.path, **o.common)


def _open_duckdb(o: _Opening) -> Any:
    from agno_nb.storage import DuckDbStorage

    path, read_only = o.path, o.read_only
    if read_only and path not in (None, ":memory:", "memory") and not Path(path).exists():
        raise BackendUnavailableError(
            f"--read-only needs an existing DuckDB file, and {path} does not exist"
        )
    if o.url is not None:
        return DuckDbStorage(o.table, db_url=o.url, read_only=read_only, **o.common)
    if path in (":memory:", "memory"):
        return DuckDbStorage(o.table, read_only=read_only, **o.common)
    return DuckDbStorage(o.table, db_file=path, read_only=read_only, **o.common)


def _open_postgres(o: _Opening) -> Any:
    from agno_nb.storage import PostgresStorage

    pg_url = _postgres_url(o.url or "")
    kw: dict[str, Any] = dict(o.common)
    if o.schema is not None:
        kw["schema"] = o.schema
    if o.read_only:
        pg_url = _read_only_pg_url(pg_url)
    return PostgresStorage(o.table, db_url=pg_url, **kw)


#: how each backend's storage is constructed from the parsed arguments
_OPENERS: dict[str, Callable[[_Opening], Any]] = {
    "sqlite": _open_sqlite,
    "duckdb": _open_duckdb,
    "postgres": _open_postgres,
}


def _read_only_pg_url(url: str) -> str:
    """The URL with libpq ``options`` making every transaction read-only."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    options = parsed.query.get("options")
    extra = "-c default_transaction_read_only=on"
    value = f"{options} {extra}" if isinstance(options, str) and options else extra
    return str(parsed.update_query_dict({"options": value}).render_as_string(hide_password=False))


def _sqlite_path(url: str | None) -> str | None:
    if not url:
        return None
    rest = url.split("://", 1)[1] if "://" in url else url
    return rest[1:] if rest.startswith("/") else rest


def open_from_args(
    backend_or_url: str,
    target: str | None = None,
    *,
    table: str | None = None,
    mode: str = "agent",
    schema: str | None = None,
    auto_upgrade: bool = False,
    read_only: bool = False,
    immutable: bool = False,
) -> Any:
    """Open (and check) a storage from a backend name and target, or from a URL.

    Args:
        backend_or_url: ``sqlite``, ``duckdb``, ``postgres`` or a SQLAlchemy URL.
        target: a file path or URL for ``sqlite``/``duckdb`` (``:memory:`` for
            an in-memory database), a URL for ``postgres``; none with a URL.
        table: the sessions table name (a plain SQL identifier); None means
            ``agent_sessions``, or agno 2.x/3.x's ``agno_sessions`` when the
            database has only that (``storage.opened_note`` then says so).
        mode: ``agent``, ``team``, ``workflow`` or ``workflow_v2``.
        schema: Postgres schema (default: the storage's, ``ai``).
        auto_upgrade: upgrade an older table layout automatically.
        read_only: open the database read-only (DuckDB natively, SQLite with
            ``mode=ro``, or ``immutable`` on a read-only mount; Postgres with
            read-only transactions).
        immutable: SQLite: read the file as ``immutable`` (no lock, no ``-wal`` /
            ``-shm`` file; works on read-only media). Only where no process
            writes the file. Implies ``read_only``.

    A SQLite or DuckDB file that does not exist is not created by opening: the
    storage's ``opened_note`` says so, and its first write creates it.

    Returns:
        The storage, after one query proved the database is reachable.

    Raises:
        InvalidNameError: SQL-looking table or schema name, unknown mode.
        BackendUnavailableError: unknown backend, missing target, missing
            driver, unreachable database. Messages never contain a password.
    """
    from agno_nb.dialects import dialect_of
    from agno_nb.schema import check_mode, check_table_name

    remember_secrets(backend_or_url, target)
    spec = (backend_or_url or "").strip()
    url: str | None = None
    path: str | None = None
    if "://" in spec:
        if target:
            raise BackendUnavailableError(
                f"a URL takes no TARGET (got {mask_url(target)!r} after it): {_USAGE}"
            )
        backend, url = backend_of_url(spec), spec
    else:
        backend = _ALIASES.get(spec.lower(), spec.lower())
        if backend not in BACKENDS:
            shown = mask_url(spec) or "(none)"
            raise BackendUnavailableError(f"unknown backend {shown!r}: {_USAGE}")
        _check_target(backend, target)
        assert target is not None
        if "://" in target:
            if backend_of_url(target) != backend:
                raise BackendUnavailableError(
                    f"{mask_url(target)!r} is not a {backend} URL: {_USAGE}"
                )
            url = target
        elif not dialect_of(backend).file_based:
            raise BackendUnavailableError(
                "postgres needs a URL TARGET, e.g. postgresql+psycopg://user:pass@host:5432/db"
            )
        else:
            path = target
    named = table is not None
    table = check_table_name(table if named else "agent_sessions")
    check_mode(mode)
    if schema is not None:
        if not dialect_of(backend).has_schemas:
            raise InvalidNameError(f"--schema only applies to postgres, not {backend}")
        check_table_name(schema, what="schema name")
    try:
        storage = _construct(
            backend,
            url=url,
            path=path,
            table=table,
            mode=mode,
            schema=schema,
            auto_upgrade=auto_upgrade,
            read_only=read_only,
            immutable=immutable,
        )
    except AgnoNbError as exc:
        raise type(exc)(describe_error(exc, url=url)) from None
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the {backend} driver is missing ({describe_error(exc)}): "
            f"pip install 'agno_nb[{backend}]'"
        ) from None
    except Exception as exc:
        raise BackendUnavailableError(
            f"cannot open {backend} storage: {describe_error(exc, url=url)}"
        ) from None
    try:
        storage.table_exists()
    except AgnoNbError as exc:
        _close_quietly(storage)
        raise type(exc)(describe_error(exc, url=url)) from None
    except Exception as exc:
        _close_quietly(storage)
        where = mask_url(url) if url else path
        raise BackendUnavailableError(
            f"cannot reach the {backend} database at {where}: {describe_error(exc, url=url)}; "
            "check that the server runs and the URL is right"
        ) from None
    if not named:
        from agno_nb.storage.layouts.agnodb import default_table, opened_note

        other = default_table(storage)
        if other is not None:
            _close_quietly(storage)
            storage = _construct(
                backend,
                url=url,
                path=path,
                table=other,
                mode=mode,
                schema=schema,
                auto_upgrade=auto_upgrade,
                read_only=read_only,
                immutable=immutable,
            )
            storage.opened_note = opened_note(storage, table)
    missing = getattr(storage, "pending_file", None)
    if missing is not None and storage.opened_note is None:
        storage.opened_note = (
            f"new database {missing}: nothing there yet, created at the first write"
        )
    return storage


def _close_quietly(storage: Any) -> None:
    try:
        storage.close()
    except Exception:  # already failing; the original error is what the user needs
        return
