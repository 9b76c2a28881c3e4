"""``agno-nb``: the notebook's core calls from a terminal.

    agno-nb demo [--db tmp/data.db | URL]
    agno-nb sessions URL [--table T] [--schema S] [--user U] [--limit N] [--json]
                    [--read-only] [--immutable]
    agno-nb show URL SESSION_ID [--table T] [--schema S] [--read-only] [--immutable]
    agno-nb upgrade URL [--table T] [--schema S] [--dry-run] [--skip-corrupt]
    agno-nb migrate SOURCE_URL [--table T]... [--schema S] [--target URL]
                    [--target-schema S] [--memory-table T] [--dry-run] [--skip-bad]

Bad arguments and storage errors print one line and exit with code 2; a database
file that does not exist prints one line and exits with code 1 (nothing is created).
Passwords in URLs are masked everywhere; stored control characters print as escapes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, NoReturn, TextIO, cast

from agno_nb.errors import AgnoNbError
from agno_nb.terminal import VisibleStream, visible
from agno_nb.urls import mask_url, remember_secrets
from agno_nb.words import counted


class MissingDatabaseError(AgnoNbError):
    """A read command named a database file that does not exist (exit code 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        line = visible(mask_url(message), newlines=False)
        self.exit(2, f"agno-nb: error: {line} (see agno-nb --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="agno-nb", description="Inspect and upgrade agent-session storage.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="run the seed example (offline) and print its history")
    demo.add_argument(
        "--db",
        default="tmp/data.db",
        help="SQLite file or database URL (default tmp/data.db)",
    )

    def storage_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "url",
            help="SQLAlchemy URL: sqlite:///f.db, duckdb:///f.duckdb, "
            "postgresql+psycopg://...; a bare path means SQLite",
        )
        p.add_argument(
            "--table",
            help="sessions table (default agent_sessions, or agno's agno_sessions "
            "when the database has only that)",
        )
        p.add_argument("--mode", default="agent", help="agent, team, workflow or workflow_v2")
        p.add_argument("--schema", help="Postgres schema of the table (default ai)")

    def read_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--read-only",
            action="store_true",
            help="open the database read-only (SQLite: mode=ro, immutable on a read-only "
            "mount; DuckDB: read_only; Postgres: read-only transactions)",
        )
        p.add_argument(
            "--immutable",
            action="store_true",
            help="SQLite: read the file as immutable (no lock, no -wal/-shm files); only "
            "where no process writes it, e.g. a snapshot or read-only media",
        )

    sessions = sub.add_parser("sessions", help="list sessions, newest first")
    storage_args(sessions)
    read_args(sessions)
    sessions.add_argument("--user")
    sessions.add_argument("--limit", type=int, default=20)
    sessions.add_argument("--json", action="store_true", help="one JSON object per line")

    show = sub.add_parser("show", help="print one session's transcript")
    storage_args(show)
    read_args(show)
    show.add_argument("session_id")

    upgrade = sub.add_parser("upgrade", help="upgrade the table to the latest layout")
    storage_args(upgrade)
    upgrade.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    upgrade.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="leave rows whose runs cannot be moved as they are (their runs are kept)",
    )

    from agno_nb.agno3.options import add_migrate_arguments

    migrate = sub.add_parser(
        "migrate", help="move agno 1.x session tables into agno 3.x's tables, verified"
    )
    add_migrate_arguments(migrate)
    return parser


def _open(args: argparse.Namespace) -> Any:
    """The same core call as ``%agno_storage``: a URL, or a bare path meaning SQLite."""
    from agno_nb.connect import open_from_args

    kw = {
        "table": args.table,
        "mode": args.mode,
        "schema": args.schema,
        "read_only": getattr(args, "read_only", False),
        "immutable": getattr(args, "immutable", False),
    }
    if "://" in args.url:
        storage = open_from_args(args.url, **kw)
    else:
        storage = open_from_args("sqlite", args.url, **kw)
    missing = getattr(storage, "pending_file", None)
    if missing is not None:  # reading (or upgrading) a file that is not there
        storage.close()
        raise MissingDatabaseError(f"no database file at {missing}: check the path")
    if storage.opened_note:
        sys.stderr.write(f"agno-nb: {storage.opened_note}\n")
    return storage


def _sessions(args: argparse.Namespace, out: TextIO) -> int:
    if args.limit < 1:
        raise AgnoNbError("--limit must be 1 or more")
    with _open(args) as storage:
        rows = storage.list_sessions(user_id=args.user, limit=args.limit)
        total = storage.count_sessions(user_id=args.user)
        if args.json:
            for row in rows:
                out.write(json.dumps(asdict(row)) + "\n")
            return 0
        out.write(
            f"{storage.display_url} table {storage.table_name}: {counted(total, 'session')}\n"
        )
        for row in rows:
            # one line per session whatever its fields hold
            sid, user, label = (
                visible(v, newlines=False)
                for v in (row.session_id, row.user_id or "-", row.error or row.title)
            )
            out.write(
                f"{sid}  user={user}  runs={row.run_count}  messages={row.message_count}  {label}\n"
            )
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    from agno_nb.render import transcript_text

    with _open(args) as storage:
        session = storage.read(args.session_id)
        if session is None:
            raise AgnoNbError(
                f"no session {args.session_id!r} in table {storage.table_name}: "
                "list them with agno-nb sessions URL"
            )
        out.write(transcript_text(session) + "\n")
    return 0


def _upgrade(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as storage:

        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\rmoved {done}/{total} sessions")

        result = storage.upgrade_schema(
            dry_run=args.dry_run, progress=progress, skip_corrupt=args.skip_corrupt
        )
        if result.applied:
            sys.stderr.write("\n")
        out.write(str(result) + "\n")
    return 0


def _migrate(args: argparse.Namespace, out: TextIO) -> int:
    from agno_nb.agno3 import VerificationError
    from agno_nb.agno3.options import run_migrate

    def progress(done: int, total: int, table: str) -> None:
        sys.stderr.write(f"\r{table}: {done}/{total} sessions")
        if done == total:
            sys.stderr.write("\n")

    try:
        report = run_migrate(args, progress=progress)
    except VerificationError as exc:
        out.write(str(exc.report) + "\n")
        raise
    out.write(str(report) + "\n")
    return 0


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point of ``agno-nb``; returns the exit code."""
    # stored text is data: no control character reaches the terminal raw
    stream = cast(TextIO, VisibleStream(out or sys.stdout))
    argv = list(sys.argv[1:] if argv is None else argv)
    remember_secrets(argv)  # masked wherever they show, argparse's messages included
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from agno_nb.demo import run_demo

            return run_demo(args.db, out=stream)
        handlers = {"sessions": _sessions, "show": _show, "upgrade": _upgrade, "migrate": _migrate}
        handler = handlers[args.command]
        return handler(args, stream)
    except AgnoNbError as exc:
        sys.stderr.write(f"agno-nb: error: {visible(mask_url(str(exc)), newlines=False)}\n")
        return 1 if isinstance(exc, MissingDatabaseError) else 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
