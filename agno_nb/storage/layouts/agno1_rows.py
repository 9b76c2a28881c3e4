"""agno 1.x's session rows, as both families that keep them use them: agno 1.x's
own table (``agno1.py``, runs inside a JSON column) and agno_nb's row layouts
(``rows.py``, runs in ``<table>_runs``).

Functions, not a base class: the session row's columns and values (JSON read
as text, the fields an upsert takes), the runs holder (``memory["runs"]``, or
``runs`` in workflow_v2 mode), the listing and search queries, and the reads
that decode rows into sessions. Each family is a :class:`~agno_nb.storage.contract.Layout`
of its own and passes itself as :class:`Agno1Parts`: what it says about its
table (its columns, where its runs are kept apart, whether it searches in SQL,
how its summaries are read).
"""

from __future__ import annotations

import dataclasses
import operator
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agno_nb.codec import SessionSummary, decode_json
from agno_nb.errors import AgnoNbError, CorruptSessionError, CorruptSessionWarning
from agno_nb.schema import JSON_COLUMNS, OWN_COLUMNS, json_text
from agno_nb.sessions import Session
from agno_nb.storage.contract import Listing, StorageCore
from agno_nb.summary import name_text, search_term, session_text, summarize_runs
from agno_nb.words import counted

#: Sessions decoded per query when searching in Python.
SEARCH_PAGE = 200


class Agno1Parts(Protocol):
    """What the shared functions use of a family that keeps agno 1.x's rows."""

    storage: StorageCore
    #: the sessions table at the layout's version
    table: sa.Table
    #: where a session's runs live in agno 1.x: ``memory`` or ``runs`` (workflow_v2)
    source: str

    def row_columns(self) -> list[Any]: ...

    def session_from_row(self, row: Mapping[Any, Any], runs: dict[str, Any] | None) -> Session: ...

    def runs_of(self, conn: Connection, session_ids: list[str]) -> dict[str, Any] | None:
        """The runs kept apart from the session rows (None: they are in the rows),
        per session id: a list, or the CorruptSessionError of a run that cannot
        be decoded."""
        ...

    def search_clause(self, term: str) -> Any:
        """A SQL condition matching sessions whose folded text holds ``term``, or
        None when the table keeps no folded text (then it is searched in Python)."""
        ...

    def creation_key(self) -> Any:
        """The column sessions are listed newest first by."""
        ...

    def insertion_key(self) -> Any:
        """What orders sessions of the same creation time (the later inserted
        first): see :func:`insertion_order`."""
        ...

    def summary_query(self, want: Listing) -> sa.Select[Any]:
        """The listing query whose rows :meth:`page_summaries` turns into summaries."""
        ...

    def page_summaries(self, conn: Connection, rows: Sequence[Any]) -> list[SessionSummary]:
        """The summaries of rows of :meth:`summary_query` (``conn`` may read more)."""
        ...


class Agno1Reads:
    """The reads both families answer the same way from agno 1.x's rows: put it
    before :class:`~agno_nb.storage.contract.Layout` in a family's bases and the
    functions below serve as the family's methods (``self`` is its Agno1Parts)."""

    def read(self: Agno1Parts, session_id: str, user_id: str | None) -> Session | None:
        return read(self, session_id, user_id)

    def sessions(
        self: Agno1Parts, user_id: str | None, entity_id: str | None, limit: int | None
    ) -> list[Session]:
        return sessions(self, user_id, entity_id, limit)

    def sessions_by_ids(self: Agno1Parts, session_ids: Sequence[str]) -> list[Session]:
        return sessions_by_ids(self, session_ids)

    def session_ids(self: Agno1Parts, user_id: str | None, entity_id: str | None) -> list[str]:
        return session_ids(self, user_id, entity_id)

    def list_sessions(self: Agno1Parts, want: Listing) -> list[SessionSummary]:
        return list_sessions(self, want)

    def get_summary(
        self: Agno1Parts, session_id: str, user_id: str | None
    ) -> SessionSummary | None:
        return get_summary(self, session_id, user_id)

    def count_sessions(self: Agno1Parts, want: Listing) -> int:
        return count_sessions(self, want)


# -- the session row -------------------------------------------------------------------------


def runs_source(mode: str) -> str:
    """Where a session's runs live in agno 1.x's row: ``memory["runs"]``, or the
    ``runs`` column in workflow_v2 mode."""
    return "runs" if mode == "workflow_v2" else "memory"


def json_columns(table: sa.Table) -> tuple[str, ...]:
    """agno 1.x's JSON columns that ``table`` has."""
    return tuple(c for c in JSON_COLUMNS if c in table.c)


def row_columns(table: sa.Table, backend: str) -> list[Any]:
    """The session row's columns, JSON as text (agno_nb's summary columns left out)."""
    json_cols = set(json_columns(table))
    skip = OWN_COLUMNS
    return [
        json_text(c, backend).label(c.name) if c.name in json_cols else c
        for c in table.columns
        if c.name not in skip
    ]


def field_columns(storage: StorageCore, table: sa.Table, kind: type) -> tuple[tuple[str, str], ...]:
    """(column, attribute) of what an upsert takes from a session's own fields
    (the times and the summary columns are computed), for sessions of ``kind``."""
    key = ("fields", id(table), kind)
    pairs = storage.statements.get(key)
    if pairs is None:
        attributes = {f.name: f.name for f in dataclasses.fields(kind)}
        if "runs_v2" in attributes:
            attributes["runs"] = attributes.pop("runs_v2")
        computed = {"created_at", "updated_at", *OWN_COLUMNS}
        pairs = tuple(
            (c.name, attributes[c.name])
            for c in table.columns
            if c.name not in computed and c.name in attributes
        )
        storage.statements[key] = pairs
    return pairs


def field_reader(
    storage: StorageCore, table: sa.Table, kind: type
) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """:func:`field_columns` as (column names, a C-level getter of the matching
    attributes' values): ``dict(zip(names, get(session)))`` are the fields' values."""
    pairs = field_columns(storage, table, kind)
    names = tuple(c for c, _ in pairs)
    get = operator.attrgetter(*(a for _, a in pairs))
    if len(pairs) == 1:  # attrgetter of one name gives the value, not a tuple
        one = get
        return names, lambda session: (one(session),)
    return names, get


# -- the runs holder -------------------------------------------------------------------------


def held_runs(source: str, holder: Any) -> list[Any]:
    """The runs inside a decoded holder (``memory`` or the ``runs`` column);
    [] when it holds none, or holds them in a shape that is not a list."""
    if source != "runs":
        holder = holder.get("runs") if isinstance(holder, dict) else None
    return holder if isinstance(holder, list) else []


def appended(source: str, session_id: str, holder: Any, run: Any) -> tuple[Any, list[Any]]:
    """The stored runs holder (``memory``, or ``runs`` in workflow_v2 mode) with
    ``run`` appended, and the new run list.

    Raises:
        CorruptSessionError: the stored holder is not a shape that holds runs.
    """
    if source == "runs":
        if holder is not None and not isinstance(holder, list):
            raise bad_holder(source, session_id, holder)
        run_list = [*(holder or []), run]
        return run_list, run_list
    if holder is not None and not isinstance(holder, dict):
        raise bad_holder(source, session_id, holder)
    memory = dict(holder or {})
    old = memory.get("runs")
    if old is not None and not isinstance(old, list):
        raise bad_holder(source, session_id, old, "memory['runs']")
    memory["runs"] = run_list = [*(old or []), run]
    return memory, run_list


def bad_holder(source: str, session_id: str, value: Any, what: str = "") -> CorruptSessionError:
    """The error for a runs holder of a shape that cannot take a run."""
    where = what or source
    wanted = "a dict" if where == "memory" else "a list"
    return CorruptSessionError(
        f"session {session_id!r} has {type(value).__name__} in {where}, not {wanted}, "
        "so a run cannot be added to it; other sessions are unaffected: fix or delete "
        "this row"
    )


def json_summary(source: str, row: Mapping[Any, Any]) -> SessionSummary:
    """A listing row's summary computed from its JSON (the runs holder and
    ``session_data`` as text); one that cannot be decoded carries the error."""
    summary = SessionSummary(
        session_id=row["session_id"],
        user_id=row["user_id"],
        entity_id=row["entity_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
    try:
        holder = decode_json(row[source], session_id=summary.session_id, column=source)
        data = decode_json(
            row["session_data"], session_id=summary.session_id, column="session_data"
        )
    except AgnoNbError as exc:
        summary.error = str(exc)
        return summary
    run_list = held_runs(source, holder)
    counts = summarize_runs(run_list)
    summary.run_count, summary.message_count = len(run_list), counts.message_count
    summary.preview = counts.preview
    summary.session_name = data.get("session_name") if isinstance(data, dict) else None
    return summary


def json_listing_columns(parts: Agno1Parts) -> list[Any]:
    """The runs holder and ``session_data`` as text, labelled, for :func:`json_summary`."""
    table, backend = parts.table, parts.storage.backend
    return [json_text(table.c[c], backend).label(c) for c in (parts.source, "session_data")]


# -- queries ---------------------------------------------------------------------------------


def filtered(parts: Agno1Parts, query: sa.Select[Any], want: Listing) -> sa.Select[Any]:
    """``query`` narrowed to ``want``'s user and entity, and to sessions matching
    its search where the family searches in SQL (see ``search_clause``)."""
    table = parts.table
    if want.user_id is not None:
        query = query.where(table.c.user_id == want.user_id)
    if want.entity_id is not None:
        query = query.where(table.c[parts.storage.entity_column] == want.entity_id)
    term = search_term(want.search)
    if term is not None:
        clause = parts.search_clause(term)
        if clause is None:  # pragma: no cover - callers take the Python path first
            raise AssertionError("this layout searches in Python")
        query = query.where(clause)
    return query


def newest_first(parts: Agno1Parts, query: sa.Select[Any]) -> sa.Select[Any]:
    """``query`` in listing order: newest first, ties by insertion order (the later
    first) where the table keeps it, else by id: a stable order, the same on every
    call (docs/reliability.md)."""
    return query.order_by(parts.creation_key().desc(), parts.insertion_key().desc())


def insertion_order(storage: StorageCore, table: sa.Table) -> Any:
    """The database's insertion order of ``table``'s rows where it keeps one
    (SQLite's rowid), else the session id: agno 1.x's table is agno's, and
    agno_nb adds no column to it."""
    found = storage.dialect.insertion_order(table)
    return table.c.session_id if found is None else found


def listing(parts: Agno1Parts, extra: list[Any], want: Listing) -> sa.Select[Any]:
    """``want``'s page of the listing: the key columns, then ``extra``."""
    table = parts.table
    cols: list[Any] = [
        table.c.session_id,
        table.c.user_id,
        table.c[parts.storage.entity_column].label("entity_id"),
        table.c.created_at,
        table.c.updated_at,
        *extra,
    ]
    query = newest_first(parts, filtered(parts, sa.select(*cols), want)).offset(want.offset)
    return query if want.limit is None else query.limit(want.limit)


def searches_in_python(parts: Agno1Parts, search: str | None) -> str | None:
    """The folded term when ``search`` must be matched in Python, else None."""
    term = search_term(search)
    if term is None or parts.search_clause(term) is not None:
        return None
    return term


def python_matches(parts: Agno1Parts, want: Listing, term: str, stop: int | None) -> list[str]:
    """Ids of ``want``'s sessions (newest first) whose folded text holds ``term``,
    decoding the table page by page until ``stop`` are found (None: all).

    Every row is decoded until enough match: the cost of a search on a table
    without folded text grows with the table (after ``upgrade_schema()`` the
    folded text is read in SQL). A row that cannot be decoded (its listing line
    shows the error) is matched by its id only.
    """
    s = parts.storage
    unsearched = Listing(want.user_id, want.entity_id)
    base = newest_first(parts, filtered(parts, sa.select(*parts.row_columns()), unsearched))
    found: list[str] = []
    with s.read_conn() as conn, s.read_conn(check=False) as runs_conn:
        s.stats.queries += 1
        result = conn.execution_options(stream_results=True).execute(base)
        for rows in result.partitions(SEARCH_PAGE):
            if stop is not None and len(found) >= stop:
                break
            s.stats.rows += len(rows)
            runs = parts.runs_of(runs_conn, [row.session_id for row in rows])
            for row in rows:
                sid = row.session_id
                try:
                    session = parts.session_from_row(row._mapping, runs)
                except (AgnoNbError, AttributeError, TypeError, ValueError, RecursionError):
                    text = name_text(sid, None)
                else:
                    text = session_text(sid, session.session_name, session.run_dicts)
                if term in text:
                    found.append(sid)
    return found if stop is None else found[:stop]


# -- reads -----------------------------------------------------------------------------------


def read(parts: Agno1Parts, session_id: str, user_id: str | None) -> Session | None:
    """One whole session (runs included), or None."""
    s, table = parts.storage, parts.table
    query = sa.select(*parts.row_columns()).where(table.c.session_id == session_id)
    if user_id:
        query = query.where(table.c.user_id == user_id)
    with s.read_conn() as conn:
        rows = s.fetch_all(conn, query)
        if not rows:
            return None
        runs = parts.runs_of(conn, [session_id])
    return parts.session_from_row(rows[0]._mapping, runs)


def sessions(
    parts: Agno1Parts, user_id: str | None, entity_id: str | None, limit: int | None
) -> list[Session]:
    """Whole sessions, newest first, at most ``limit`` (unreadable ones left out)."""
    s = parts.storage
    query = newest_first(
        parts, filtered(parts, sa.select(*parts.row_columns()), Listing(user_id, entity_id))
    )
    if limit is not None:
        query = query.limit(limit)
    with s.read_conn() as conn:
        rows = s.fetch_all(conn, query)
        ids = [row.session_id for row in rows]
        runs = parts.runs_of(conn, ids) if ids else None
    return decoded(parts, rows, runs, stacklevel=7)


def sessions_by_ids(parts: Agno1Parts, session_ids: Sequence[str]) -> list[Session]:
    """Whole sessions for ``session_ids``, in that order (missing and unreadable
    ones left out)."""
    s, table = parts.storage, parts.table
    if not session_ids:
        return []
    query = sa.select(*parts.row_columns()).where(table.c.session_id.in_(list(session_ids)))
    with s.read_conn() as conn:
        rows = s.fetch_all(conn, query)
        runs = parts.runs_of(conn, [row.session_id for row in rows]) if rows else None
    by_id = {session.session_id: session for session in decoded(parts, rows, runs, stacklevel=8)}
    return [by_id[sid] for sid in session_ids if sid in by_id]


def decoded(
    parts: Agno1Parts, rows: Sequence[Any], runs: dict[str, Any] | None, *, stacklevel: int
) -> list[Session]:
    """The sessions of ``rows``; a row that cannot be decoded is left out and a
    :class:`~agno_nb.errors.CorruptSessionWarning` names it (bulk reads never
    hand out a half-read session to be written back)."""
    found: list[Session] = []
    unreadable: list[str] = []
    for row in rows:
        try:
            found.append(parts.session_from_row(row._mapping, runs))
        except CorruptSessionError as exc:
            unreadable.append(str(exc))
    if unreadable:
        shown = " | ".join(unreadable[:3])
        more = f" | and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
        warnings.warn(
            CorruptSessionWarning(
                f"left out {counted(len(unreadable), 'session')} of "
                f"{parts.storage.ref.qualified} "
                f"that cannot be read (list_sessions() shows them with this error): "
                f"{shown}{more}"
            ),
            stacklevel=stacklevel,
        )
    return found


def session_ids(parts: Agno1Parts, user_id: str | None, entity_id: str | None) -> list[str]:
    """Session ids, newest first."""
    s = parts.storage
    query = filtered(parts, sa.select(parts.table.c.session_id), Listing(user_id, entity_id))
    with s.read_conn() as conn:
        return [row[0] for row in s.fetch_all(conn, newest_first(parts, query))]


def list_sessions(parts: Agno1Parts, want: Listing) -> list[SessionSummary]:
    """One page of summaries, newest first (searched in Python where the table
    keeps no folded text)."""
    term = searches_in_python(parts, want.search)
    if term is not None:
        stop = None if want.limit is None else want.offset + want.limit
        ids = python_matches(parts, want, term, stop)[want.offset :]
        return summaries_of(parts, ids)
    query = parts.summary_query(want)
    s = parts.storage
    with s.read_conn() as conn:
        return parts.page_summaries(conn, s.fetch_all(conn, query))


def summaries_of(parts: Agno1Parts, ids: list[str]) -> list[SessionSummary]:
    """The summaries of ``ids``, in that order (missing ones left out)."""
    out: dict[str, SessionSummary] = {}
    s = parts.storage
    with s.read_conn() as conn:
        for start in range(0, len(ids), SEARCH_PAGE):
            chunk = ids[start : start + SEARCH_PAGE]
            query = parts.summary_query(Listing())
            query = query.where(parts.table.c.session_id.in_(chunk))
            for summary in parts.page_summaries(conn, s.fetch_all(conn, query)):
                out[summary.session_id] = summary
    return [out[sid] for sid in ids if sid in out]


def get_summary(parts: Agno1Parts, session_id: str, user_id: str | None) -> SessionSummary | None:
    """One session's summary, looked up by its key (and ``user_id`` when given)."""
    query = parts.summary_query(Listing(user_id))
    query = query.where(parts.table.c.session_id == session_id)
    s = parts.storage
    with s.read_conn() as conn:
        found = parts.page_summaries(conn, s.fetch_all(conn, query))
    return found[0] if found else None


def count_sessions(parts: Agno1Parts, want: Listing) -> int:
    """How many sessions match ``want``'s filters."""
    term = searches_in_python(parts, want.search)
    if term is not None:
        return len(python_matches(parts, want, term, None))
    s = parts.storage
    query = filtered(parts, sa.select(sa.func.count()).select_from(parts.table), want)
    with s.read_conn() as conn:
        return int(s.run_statement(conn, query).scalar_one())


# -- writes ----------------------------------------------------------------------------------


def rename_session(
    parts: Agno1Parts,
    session_id: str,
    name: str,
    more: Callable[[Connection], dict[str, Any]] | None = None,
) -> None:
    """Set the session's name in its ``session_data`` (and the columns ``more``
    returns, in the same transaction).

    Raises:
        SessionNotFoundError: no such session.
    """
    s, table = parts.storage, parts.table
    query = sa.select(json_text(table.c.session_data, s.backend)).where(
        table.c.session_id == session_id
    )
    with s.write_conn() as conn:
        # read-modify-write: a concurrent append_run(session_data=...) waits
        # for this write (or this read waits for it), never lost in between
        row = s.run_statement(conn, s.for_update(query)).first()
        if row is None:
            raise s.not_found(session_id)
        data = decode_json(row[0], session_id=session_id, column="session_data") or {}
        data["session_name"] = name
        values: dict[str, Any] = {"session_data": data, "updated_at": int(time.time())}
        if more is not None:
            values.update(more(conn))
        s.run_statement(
            conn, table.update().where(table.c.session_id == session_id).values(**values)
        )


def delete_row(parts: Agno1Parts, conn: Connection, session_id: str) -> None:
    """Delete the session's row (in the caller's transaction)."""
    table = parts.table
    parts.storage.run_statement(conn, table.delete().where(table.c.session_id == session_id))
