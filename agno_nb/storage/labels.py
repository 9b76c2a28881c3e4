"""Labels on runs: a rating, a score, a corrected answer, a note and tags, kept
per run in agno_nb's own side table ``agno_nb_labels``.

The side table lives in the same database (and schema) as the sessions it
labels, keyed by (table name, session id, run id), so it serves agno 1.x
tables, agno_nb's own layouts and agno 2.x/3.x's ``agno_sessions`` alike;
agno's tables are never changed by labelling. It is created on the first
label. A label whose session no longer exists is not read back (agno may
delete sessions itself), and ``storage.delete_session`` removes the session's
labels. :func:`copy_labels` carries labels along with a migration.

The storage façade (:class:`~agno_nb.storage.base.BaseStorage`) exposes
``label_run``, ``labels``, ``labels_df`` and ``delete_label``, each a thin
call into this module.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agno_nb.dialects import dialect_named
from agno_nb.errors import InvalidArgumentError
from agno_nb.storage.contract import StorageCore

if TYPE_CHECKING:
    import pandas as pd

    from agno_nb.codec import SessionSummary

__all__ = [
    "LABELS_TABLE",
    "LABEL_COLUMNS",
    "LABEL_FILTERS",
    "RATINGS",
    "Label",
    "LabelCounts",
    "copy_labels",
    "delete_label",
    "delete_session_labels",
    "forget_table",
    "label_counts",
    "label_run",
    "labels",
    "labels_df",
    "labels_table",
    "select_sessions",
]


class LabelledStorage(StorageCore, Protocol):
    """What labelling uses of a storage (the façade, :class:`BaseStorage`, fills it),
    so this module need not import the façade that imports it."""

    @property
    def layout_label(self) -> str | None: ...

    @property
    def get_runs(self) -> Callable[..., list[dict[str, Any]]]:
        """BaseStorage.get_runs (a session's runs, paged)."""
        ...

    @property
    def list_sessions(self) -> Callable[..., list[SessionSummary]]:
        """BaseStorage.list_sessions (its keyword-only filters and page)."""
        ...


LABELS_TABLE = "agno_nb_labels"
RATINGS = ("good", "bad")
#: What a listing can select sessions by: a good run, a bad run, or no label at all.
LABEL_FILTERS = ("good", "bad", "unlabelled")
#: Columns of :func:`labels_df`, in order.
LABEL_COLUMNS = (
    "session_id",
    "run_id",
    "run_index",
    "rating",
    "score",
    "correction",
    "note",
    "tags",
    "labelled_by",
    "labelled_at",
)


def labels_table(metadata: sa.MetaData, *, schema: str | None = None) -> sa.Table:
    """The side table: one row per labelled run of any session table in the schema."""
    return sa.Table(
        LABELS_TABLE,
        metadata,
        sa.Column("table_name", sa.String, primary_key=True),
        sa.Column("session_id", sa.String, primary_key=True),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("run_index", sa.Integer),
        sa.Column("rating", sa.String),
        sa.Column("score", sa.Float),
        sa.Column("correction", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("tags", sa.Text),  # a JSON list of strings
        sa.Column("labelled_by", sa.String),
        sa.Column("labelled_at", sa.Float),  # epoch seconds
        schema=schema,
    )


@dataclass(frozen=True)
class Label:
    """One run's label, as read back from the side table."""

    session_id: str
    run_id: str
    rating: str | None = None
    score: float | None = None
    correction: str | None = None
    note: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    run_index: int | None = None
    labelled_by: str | None = None
    #: when it was set, in epoch seconds
    labelled_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The label as a plain dict (``tags`` a list)."""
        out = asdict(self)
        out["tags"] = list(self.tags)
        return out


def who() -> str:
    """Who labels: ``$AGNO_NB_USER``, else the login name (``unknown`` if there is none)."""
    name = os.environ.get("AGNO_NB_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


# -- checking the input -------------------------------------------------------------------


def _check_text(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgumentError(f"{name}={value!r} is not text: pass a string or None")


def check_rating(rating: object) -> str | None:
    """``rating`` if it is None, ``"good"`` or ``"bad"`` (any case), else a one-line error."""
    if rating is None:
        return None
    if isinstance(rating, str) and rating.strip().lower() in RATINGS:
        return rating.strip().lower()
    raise InvalidArgumentError(f"rating={rating!r} is not a rating: use 'good', 'bad' or None")


def check_score(score: object) -> float | None:
    """``score`` as a float if it is a finite number (or None), else a one-line error."""
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise InvalidArgumentError(
            f"score={score!r} is not a number: pass a finite int or float, or None"
        )
    return float(score)


def _check_tags(tags: object) -> tuple[str, ...]:
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise InvalidArgumentError(
            f"tags={tags!r} is not a list of tags: pass e.g. tags=('tone', 'facts')"
        )
    out = tuple(tags)
    if not all(isinstance(t, str) for t in out):
        raise InvalidArgumentError(f"tags={tags!r}: every tag must be a string")
    return out


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{name}={value!r} is not an id: pass the {name} as a string")
    return value


def _run_index(storage: LabelledStorage, session_id: str, run_id: str) -> int:
    """The index of run ``run_id`` in the session (SessionNotFoundError if no session)."""
    runs = storage.get_runs(session_id)
    for index, run in enumerate(runs):
        if run.get("run_id") == run_id:
            return index
    raise InvalidArgumentError(
        f"session {session_id!r} has no run {run_id!r} ({len(runs)} runs): check the run id "
        "(storage.get_runs(session_id) lists them)"
    )


# -- SQL ----------------------------------------------------------------------------------


def _table(storage: LabelledStorage) -> sa.Table:
    return labels_table(sa.MetaData(), schema=storage.schema)


def _same_table(storage: LabelledStorage, column: Any, table_name: str | None = None) -> Any:
    """The condition naming the storage's table the way its database compares names."""
    name = storage.table_name if table_name is None else table_name
    return _name_is(storage.db_engine, column, name)


def _exists(conn: Connection, storage: LabelledStorage) -> bool:
    storage.stats.queries += 1
    return bool(sa.inspect(conn).has_table(LABELS_TABLE, schema=storage.schema))


def label_run(
    storage: LabelledStorage,
    session_id: str,
    run_id: str,
    rating: str | None = None,
    *,
    score: float | None = None,
    correction: str | None = None,
    note: str | None = None,
    tags: Iterable[str] = (),
) -> Label:
    """Label one run: ``rating`` ``"good"``/``"bad"``, a ``score``, a corrected
    answer, a note, tags (who and when are recorded); returns the label. A second
    call replaces it. Kept in agno_nb's side table ``agno_nb_labels``; the sessions
    table is not changed. ``storage.label_run(...)`` calls this.

    Raises:
        InvalidArgumentError: no such run, a rating not good/bad, a score not a
            number, a bad tag, or nothing to record.
        SessionNotFoundError: no such session.
    """
    session_id = _check_id("session_id", session_id)
    run_id = _check_id("run_id", run_id)
    rating = check_rating(rating)
    score = check_score(score)
    correction = _check_text("correction", correction)
    note = _check_text("note", note)
    tag_tuple = _check_tags(tags)
    if rating is None and score is None and not correction and not note and not tag_tuple:
        raise InvalidArgumentError(
            "nothing to label: pass a rating ('good'/'bad'), score, correction, note or tags "
            "(delete_label() removes a label)"
        )
    index = _run_index(storage, session_id, run_id)
    label = Label(
        session_id=session_id,
        run_id=run_id,
        rating=rating,
        score=score,
        correction=correction,
        note=note,
        tags=tag_tuple,
        run_index=index,
        labelled_by=who(),
        labelled_at=time.time(),
    )
    table = _table(storage)
    with storage.write_conn(check=False) as conn:
        storage.create_schema(conn)
        table.create(conn, checkfirst=True)
        _put(storage, conn, table, storage.table_name, [label])
    return label


def _put(
    storage: LabelledStorage,
    conn: Connection,
    table: sa.Table,
    table_name: str,
    rows: Sequence[Label],
) -> None:
    """Replace the labels of these runs (delete then insert: the same on every database)."""
    for label in rows:
        storage.run_statement(
            conn,
            table.delete().where(
                _same_table(storage, table.c.table_name, table_name),
                table.c.session_id == label.session_id,
                table.c.run_id == label.run_id,
            ),
        )
    if rows:
        storage.run_statement(conn, table.insert(), [_row(table_name, label) for label in rows])


def _row(table_name: str, label: Label) -> dict[str, Any]:
    values = label.to_dict()
    values["tags"] = json.dumps(list(label.tags), ensure_ascii=False)
    values["table_name"] = table_name
    return values


def _label(row: Any) -> Label:
    try:
        tags = tuple(str(t) for t in json.loads(row.tags or "[]"))
    except ValueError:
        tags = ()
    return Label(
        session_id=row.session_id,
        run_id=row.run_id,
        rating=row.rating,
        score=row.score,
        correction=row.correction,
        note=row.note,
        tags=tags,
        run_index=row.run_index,
        labelled_by=row.labelled_by,
        labelled_at=row.labelled_at,
    )


def labels(storage: LabelledStorage, session_id: str | None = None) -> list[Label]:
    """The labels of one session's runs, or of every session (sessions newest
    label first, runs in order). Labels of sessions no longer in the table are left out."""
    if storage.layout_label is None:  # no sessions table: nothing to label
        return []
    table = _table(storage)
    sessions = sa.table(storage.table_name, sa.column("session_id"), schema=storage.schema)
    query = (
        sa.select(table)
        .where(_same_table(storage, table.c.table_name))
        .where(sa.exists().where(sessions.c.session_id == table.c.session_id))
        .order_by(table.c.session_id, table.c.run_index, table.c.run_id)
    )
    if session_id is not None:
        query = query.where(table.c.session_id == session_id)
    with storage.read_conn(check=False) as conn:
        if not _exists(conn, storage):
            return []
        return [_label(row) for row in storage.fetch_all(conn, query)]


def labels_df(storage: LabelledStorage, session_id: str | None = None) -> pd.DataFrame:
    """The labels as a DataFrame, one row per labelled run (``LABEL_COLUMNS``);
    ``labelled_at`` is a UTC timestamp. Join to ``messages_df()`` on
    ``["session_id", "run_id"]``."""
    import pandas as pd

    rows = [label.to_dict() for label in labels(storage, session_id)]
    frame = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    frame["labelled_at"] = pd.to_datetime(frame["labelled_at"], unit="s", utc=True)
    frame["run_index"] = frame["run_index"].astype("Int64")
    frame["score"] = frame["score"].astype("float64")
    return frame


def delete_label(storage: LabelledStorage, session_id: str, run_id: str) -> bool:
    """Remove one run's label; returns whether there was one."""
    session_id = _check_id("session_id", session_id)
    run_id = _check_id("run_id", run_id)
    table = _table(storage)
    with storage.write_conn(check=False) as conn:
        if not _exists(conn, storage):
            return False
        result = storage.run_statement(
            conn,
            table.delete().where(
                _same_table(storage, table.c.table_name),
                table.c.session_id == session_id,
                table.c.run_id == run_id,
            ),
        )
        return bool(result.rowcount)


def delete_session_labels(storage: LabelledStorage, session_id: str) -> None:
    """Remove the labels of a deleted session."""
    table = _table(storage)
    with storage.write_conn(check=False) as conn:
        if _exists(conn, storage):
            storage.run_statement(
                conn,
                table.delete().where(
                    _same_table(storage, table.c.table_name), table.c.session_id == session_id
                ),
            )


def forget_table(storage: LabelledStorage) -> None:
    """Remove every label of the storage's table (after it was dropped)."""
    table = _table(storage)
    with storage.write_conn(check=False) as conn:
        if _exists(conn, storage):
            storage.run_statement(
                conn, table.delete().where(_same_table(storage, table.c.table_name))
            )


def copy_labels(
    source: Engine,
    *,
    source_table: str,
    source_schema: str | None,
    target: Engine,
    target_table: str,
    target_schema: str | None,
    exclude: Iterable[str] = (),
) -> int:
    """Copy the labels of ``source_table``'s sessions to ``target_table`` (in
    the same or another database), replacing labels the target has for those
    runs; returns how many were copied. Used by the agno 3.x migration so the
    migrated sessions keep their labels.

    Args:
        exclude: sessions whose labels stay behind (say, sessions the migration
            did not write because the target holds another session of that id).
    """
    src = labels_table(sa.MetaData(), schema=source_schema)
    dst = labels_table(sa.MetaData(), schema=target_schema)
    with source.connect() as conn:
        if not sa.inspect(conn).has_table(LABELS_TABLE, schema=source_schema):
            return 0
        query = sa.select(src).where(_name_is(source, src.c.table_name, source_table))
        rows = [_label(r) for r in conn.execute(query).all()]
    skipped = set(exclude)
    rows = [r for r in rows if r.session_id not in skipped]
    if not rows:
        return 0
    with target.begin() as conn:
        dst.create(conn, checkfirst=True)
        for label in rows:
            conn.execute(
                dst.delete().where(
                    _name_is(target, dst.c.table_name, target_table),
                    dst.c.session_id == label.session_id,
                    dst.c.run_id == label.run_id,
                )
            )
        conn.execute(dst.insert(), [_row(target_table, label) for label in rows])
    return len(rows)


def _name_is(engine: Engine, column: Any, name: str) -> Any:
    """``column == name`` as the database compares table names: SQLite and DuckDB
    take ``Agent_Sessions`` and ``agent_sessions`` for one table, Postgres does not."""
    dialect = dialect_named(engine.dialect.name)
    return column == name if dialect is None else dialect.same_name(column, name)


# -- listings: counts per session, sessions selected by label -----------------------------


@dataclass(frozen=True)
class LabelCounts:
    """How many of a session's runs are labelled, and how."""

    good: int = 0
    bad: int = 0
    labelled: int = 0

    def text(self) -> str:
        """``✓2 ✗1``: runs rated good, bad (and ``✎N`` labelled without a rating);
        "" for none. Plain characters every font has (no emoji)."""
        parts = [f"✓{self.good}" if self.good else "", f"✗{self.bad}" if self.bad else ""]
        other = self.labelled - self.good - self.bad
        parts.append(f"✎{other}" if other else "")
        return " ".join(p for p in parts if p)

    def words(self) -> str:
        """``2 good, 1 bad, 1 other`` (for a tooltip)."""
        other = self.labelled - self.good - self.bad
        parts = [(self.good, "good"), (self.bad, "bad"), (other, "labelled without a rating")]
        return ", ".join(f"{n} {what}" for n, what in parts if n)


def label_counts(
    storage: LabelledStorage, session_ids: Iterable[str] | None = None
) -> dict[str, LabelCounts]:
    """Labelled runs per session (one grouped query); sessions without labels are absent."""
    if storage.layout_label is None:
        return {}
    table = _table(storage)
    good = sa.func.sum(sa.case((table.c.rating == "good", 1), else_=0))
    bad = sa.func.sum(sa.case((table.c.rating == "bad", 1), else_=0))
    query = (
        sa.select(table.c.session_id, good, bad, sa.func.count())
        .where(_same_table(storage, table.c.table_name))
        .group_by(table.c.session_id)
    )
    if session_ids is not None:
        ids = list(session_ids)
        if not ids:
            return {}
        query = query.where(table.c.session_id.in_(ids))
    with storage.read_conn(check=False) as conn:
        if not _exists(conn, storage):
            return {}
        return {
            sid: LabelCounts(int(g or 0), int(b or 0), int(n or 0))
            for sid, g, b, n in storage.fetch_all(conn, query)
        }


def check_label_filter(label: object) -> str | None:
    """``label`` if it is None or one of :data:`LABEL_FILTERS`, else a one-line error."""
    if label is None or label == "":
        return None
    if isinstance(label, str) and label.strip().lower() in (*LABEL_FILTERS, "unlabeled"):
        return label.strip().lower().replace("unlabeled", "unlabelled")
    raise InvalidArgumentError(
        f"label={label!r} is not a label filter: use good, bad or unlabelled"
    )


def select_sessions(
    storage: LabelledStorage,
    *,
    label: str | None = None,
    keep: Callable[[Any], bool] | None = None,
    user_id: str | None = None,
    entity_id: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Any], int]:
    """One page of the session summaries (newest first) that match the filters
    and have a run labelled ``label`` (``good``/``bad``; ``unlabelled``: no label
    at all) and pass ``keep``; returns the page and how many match in all.

    The database pages the other filters; the label test runs on the summaries
    (every matching summary is read once, not the runs), so it costs a pass
    over the listing.

    Raises:
        InvalidArgumentError: an unknown label filter.
    """
    label = check_label_filter(label)
    counts = label_counts(storage) if label is not None else {}

    def wanted(summary: Any) -> bool:
        if keep is not None and not keep(summary):
            return False
        if label is None:
            return True
        c = counts.get(summary.session_id)
        if label == "unlabelled":
            return c is None
        return c is not None and (c.good if label == "good" else c.bad) > 0

    matched: list[Any] = []
    total = 0
    chunk = 500
    start = 0
    while True:
        page = storage.list_sessions(
            user_id=user_id, entity_id=entity_id, search=search, limit=chunk, offset=start
        )
        for summary in page:
            if wanted(summary):
                if total >= offset and (limit is None or len(matched) < limit):
                    matched.append(summary)
                total += 1
        if len(page) < chunk:
            return matched, total
        start += chunk
