"""IPython magics: ``%agno_storage``, ``%agno_sessions``, ``%agno_history``,
``%agno_upgrade`` and ``%%agno_chat`` (load with ``%load_ext agno_nb``).

Each magic parses its line, makes one call into the core (``agno_nb.connect``,
the storage, ``agno_nb.render``, ``agno_nb.widgets``) and returns or displays
the result. Every bad line is one ``UsageError`` line (no traceback) that says
what to do; passwords in URLs never appear. Options are traitlets, settable
with ``%config AgnoMagics.<option> = value``.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from contextlib import suppress
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Integer, Unicode

from agno_nb.connect import open_from_args
from agno_nb.magics_storage import StorageHelpers
from agno_nb.magics_storage import usage_errors as _usage_errors
from agno_nb.urls import mask_url, remember_secrets

__all__ = ["AgnoMagics", "load_ipython_extension", "unload_ipython_extension"]

_HINT = "run %agno_storage sqlite tmp/data.db (or another backend) first"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one masked UsageError line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split())
        usage = usage.removeprefix("usage: ")
        raise UsageError(mask_url(f"{self.prog}: {message}; usage: {usage}"))

    def parse_line(self, line: str) -> argparse.Namespace:
        # A trailing ";" is IPython's "hide the output", not part of the arguments.
        line = line.rstrip().removesuffix(";")
        remember_secrets(line)  # masked even if shlex splits a URL at a space
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(mask_url(f"{self.prog}: cannot parse the line ({exc})")) from None
        return self.parse_args(words)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class _Shown:
    """A result that displays as HTML in a notebook and as text elsewhere."""

    def __init__(self, html: str, text: str) -> None:
        self.html = html
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def _storage_parser() -> _Parser:
    p = _Parser("%agno_storage")
    p.add_argument("backend", nargs="?", help="sqlite, duckdb, postgres or a SQLAlchemy URL")
    p.add_argument("target", nargs="?", help="file path or URL")
    p.add_argument("--table")
    p.add_argument("--mode", default="agent")
    p.add_argument("--schema")
    p.add_argument("--auto-upgrade", action="store_true")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--immutable", action="store_true")  # SQLite: no lock, no side files
    p.add_argument("--as", dest="name")
    p.add_argument("--list", action="store_true")
    p.add_argument("--close", metavar="NAME")
    p.add_argument("--attach", nargs="?", const="", metavar="AGENTS")
    p.add_argument("--async", dest="use_async", action="store_true")
    return p


def _no_sessions_line(storage: Any, args: argparse.Namespace) -> str:
    """The one line ``%agno_sessions`` shows when nothing matched: which filters
    matched nothing, how many sessions the table holds, and what to run."""
    from agno_nb.words import counted

    filters = [
        f"--{flag} {value!r}"
        for flag, value in (
            ("user", args.user),
            ("agent", args.agent),
            ("search", args.search),
            ("label", getattr(args, "label", None)),
        )
        if value is not None
    ]
    if not filters:
        return f"no sessions yet in {storage.table_name}: run an agent, then list them again"
    held = storage.count_sessions()
    if not held:
        return f"no sessions yet in {storage.table_name}: run an agent, then list them again"
    return (
        f"no sessions match {' '.join(filters)}; {storage.table_name} holds "
        f"{counted(held, 'session')}: run %agno_sessions without "
        f"{'it' if len(filters) == 1 else 'them'} to list them"
    )


def _history_off_note(agent: Any, name: str) -> str | None:
    """Why an agent with earlier runs may answer as if it had none: its history is off
    (agno's default). None when history is on or there is nothing earlier."""
    if getattr(agent, "add_history_to_messages", True):
        return None
    try:
        earlier = len(agent.get_messages_for_session()) > 2  # more than this run's turn
    except Exception:  # an agno 1.x agent without a storage, say: say nothing
        return None
    if not earlier:
        return None
    return (
        f"{name} has history off, so the model saw only this message, not the session's "
        f"earlier runs: set {name}.add_history_to_messages = True to send them"
    )


def _configured(table: str) -> str | None:
    """The configured default table, None for the stock one (which lets
    open_from_args pick agno's ``agno_sessions`` when the database has only that)."""
    return None if table == "agent_sessions" else table


@magics_class
class AgnoMagics(StorageHelpers, Magics):
    """The ``%agno_*`` magics; one instance per shell holds the open storages."""

    default_table = Unicode("agent_sessions", help="Table %agno_storage opens by default.").tag(
        config=True
    )
    display_limit = Integer(20, help="Rows %agno_sessions returns by default.").tag(config=True)
    page_size = Integer(20, help="Sessions per page in %agno_history's browser.").tag(config=True)
    history_page_size = Integer(50, help="Runs per page in a session transcript.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.storages: dict[str, Any] = {}
        self.current: str | None = None
        self.last_agent: Any = None
        self._seen_agents: set[int] = set()
        self._drop_result: str | None = None  # a result already shown as a status
        self._cell: str | None = None  # the cell running now
        self._result_status: Any = None  # the status a returned storage displays as
        self.agno_home: Any = None  # the storage whose agno db agno objects made later take
        self.agno_async = False  # ... as AsyncSqliteDb / AsyncPostgresDb
        self._seen_agno: set[int] = set()

    # -- storages -----------------------------------------------------------------------

    @property
    def storage(self) -> Any:
        """The current storage (UsageError when none is open)."""
        if self.current is None:
            raise UsageError(f"no agno_nb storage is open: {_HINT}")
        return self.storages[self.current]

    @line_magic
    def agno_storage(self, line: str = "") -> Any:
        """Open a storage; attach it to the notebook's agents that have none.

        %agno_storage BACKEND TARGET [--table T] [--mode M] [--schema S]
                      [--auto-upgrade] [--read-only] [--immutable] [--as NAME] [--attach [AGENTS]]
        %agno_storage URL [options]      a bare SQLAlchemy URL
        %agno_storage [--attach [AGENTS]] show the current storage (and move agents to it)
        %agno_storage --list             list open storages and their agents
        %agno_storage --close NAME       close one

        BACKEND is sqlite, duckdb or postgres; TARGET a file path or URL.
        An agent keeps the storage it was given or first attached to: opening
        another storage never moves it. The first agent storage opened is the
        one new Agents take. ``--attach`` moves every agent (or the
        comma-separated AGENTS) to this storage and makes it the one new
        Agents take; the status says which agents moved and which use what.
        Returns the storage (shown as one status, HTML in Jupyter).
        """
        args = _storage_parser().parse_line(line)
        if args.list:
            return self._list()
        if args.close:
            return self._close(args.close)
        if args.backend is None:
            if self.current is None:
                print(f"no agno_nb storage is open: {_HINT}")
                return None
            storage = self.storage
            moved = self._move_here(storage, args.attach)
            agno: dict[str, Any] = {}
            if args.attach is not None and self._for_agno(storage):
                _, agno["moved"] = self._attach_agno(
                    storage, args.attach, is_async=args.use_async, claim=True
                )
            return self._show(self._status(self.current, storage, moved=moved, agno=agno), line)
        name = args.name
        if name is not None and not name.isidentifier():
            raise UsageError(f"--as {name!r}: use a plain name such as prod or local")
        table = args.table or _configured(self.default_table)
        agno_table = self._agno_table(args.backend, table)
        with _usage_errors(url=args.backend):
            storage = self._open(args, agno_table or table, agno=agno_table is not None)
        if args.use_async and not self._for_agno(storage):
            storage.close()
            raise UsageError(
                "--async gives agno 2.x/3.x agents agno's async db (AsyncSqliteDb, "
                "AsyncPostgresDb) on agno's tables: it needs agno >= 2 and a sqlite or postgres "
                "storage opened without --table (or on an agno table)"
            )
        name = name or storage.backend
        old = self.storages.get(name)
        reopened = self._reopen(name, old, storage, args.attach is not None, named=bool(args.name))
        self.storages[name] = storage
        self.current = name
        changes: dict[str, Any] = {}
        agno = {}
        if self._for_agno(storage):
            agno["attached"], agno["moved"] = self._attach_agno(
                storage,
                args.attach,
                is_async=args.use_async,
                claim=args.attach is not None or self.agno_home is old,
            )
        if storage.mode == "agent" and not self._read_in_place(storage):
            from agno_nb.agent import get_default_storage, set_default_storage
            from agno_nb.attachments import attach

            default = get_default_storage()
            if args.attach is not None:
                changes["moved"] = self._move_here(storage, args.attach)
            else:
                with _usage_errors():
                    changes["attached"] = attach(storage, self._agents(), only_unattached=True)
                if default is None or default is old:
                    set_default_storage(storage)
            if changes.get("attached"):
                self.last_agent = dict(self._agents())[changes["attached"][-1]]
        elif args.attach is not None and not self._for_agno(storage):
            storage.close()
            del self.storages[name]
            why = (
                "its agno 2.x/3.x tables are read in place, agents save to agno_nb's own"
                if storage.mode == "agent"
                else f"this storage holds {storage.mode} sessions; agents need --mode agent"
            )
            raise UsageError(f"--attach: {why}")
        if old is not None and old is not storage and not self._in_use(old):
            old.close()
        return self._show(
            self._status(
                name,
                storage,
                attached=reopened + changes.get("attached", []),
                moved=changes.get("moved", {}),
                note=storage.opened_note if agno_table is None else None,
                agno=agno,
            ),
            line,
        )

    def _open(self, args: argparse.Namespace, table: str | None, *, agno: bool) -> Any:
        """open_from_args for the parsed line; on agno's own table (agno >= 2 installed,
        no --table), agno's session and runs tables are created first, with agno's DDL."""
        storage = open_from_args(
            args.backend,
            args.target,
            table=table,
            mode=args.mode,
            schema=args.schema,
            auto_upgrade=args.auto_upgrade,
            read_only=args.read_only,
            immutable=args.immutable,
        )
        if not agno or args.read_only or args.immutable:
            return storage
        from agno_nb.integrations.agno_db import ensure_tables

        if not storage.dialect.holds_agno_tables or not ensure_tables(storage):
            return storage
        storage.close()  # reopen, so the storage sees agno's tables
        return open_from_args(
            args.backend, args.target, table=table, mode=args.mode, schema=args.schema
        )

    def _list(self) -> None:
        if not self.storages:
            print(f"no agno_nb storages are open: {_HINT}")
            return None
        from agno_nb.agent import get_default_storage
        from agno_nb.attachments import users_of

        agents = self._agents()
        for name, storage in self.storages.items():
            mark = "*" if name == self.current else " "
            users = ", ".join(users_of(storage, agents)) or "none"
            new = ", new agents" if get_default_storage() is storage else ""
            print(
                mask_url(
                    f"{mark} {name}: {storage.backend} {storage.display_url} "
                    f"table {storage.table_name} (mode {storage.mode}; agents: {users}{new})"
                )
            )
        return None

    def _close(self, name: str) -> None:
        storage = self.storages.pop(name, None)
        if storage is None:
            known = ", ".join(self.storages) or "none are open"
            raise UsageError(f"no open storage named {name!r} ({known}): see %agno_storage --list")
        from agno_nb.attachments import users_of

        users = users_of(storage, self._agents())
        storage.close()
        if self.current == name:
            self.current = next(reversed(self.storages), None) if self.storages else None
            from agno_nb.agent import get_default_storage, set_default_storage

            if get_default_storage() is storage:
                new = self.storages.get(self.current) if self.current else None
                set_default_storage(new if new is not None and new.mode == "agent" else None)
        keep = ""
        if users:
            keep = (
                f" ({', '.join(users)} still {'uses' if len(users) == 1 else 'use'} it and "
                "reconnect on the next run; %agno_storage OTHER --attach moves them)"
            )
        print(f"closed agno_nb storage {name!r}{keep}")
        return None

    # -- agents -------------------------------------------------------------------------

    def _agents(self) -> list[tuple[str, Any]]:
        """(variable name, agent) for every agno_nb or agno 1.x Agent in the namespace."""
        from agno_nb.attachments import agents_in

        return agents_in(self.shell.user_ns if self.shell is not None else {})

    def _pre_run_cell(self, info: Any = None) -> None:
        """Note the cell about to run (to tell whether its result will be shown)."""
        self._cell = getattr(info, "raw_cell", None)
        self._result_status = None

    def _post_run_cell(self, result: Any = None) -> None:
        """Remember the most recently created agent (for %%agno_chat's default), give
        agno agents made in the cell the current agno db, and let open session
        browsers show what the cell's runs wrote."""
        self._cell = None
        self._drop_result = None
        self._track_agents()
        from agno_nb.errors import AgnoNbError

        try:
            self._agno_post_cell()
        except AgnoNbError as exc:  # e.g. the async driver is missing: one line, not a trace
            print(f"agno_nb: {exc}")
        from agno_nb.widgets.session_browser import refresh_open_browsers

        refresh_open_browsers()

    def _track_agents(self) -> None:
        for _, agent in [*self._agents(), *self._agno_entities()]:
            if id(agent) not in self._seen_agents:
                self._seen_agents.add(id(agent))
                self.last_agent = agent

    def _resolve_agent(self, name: str | None) -> tuple[str, Any]:
        self._track_agents()
        agents = [*self._agents(), *self._agno_entities()]
        if name:
            found = dict(agents).get(name)
            if found is None:
                known = ", ".join(n for n, _ in agents) or "none defined"
                raise UsageError(f"no agent named {name!r} (agents: {known})")
            return name, found
        if self.last_agent is not None:
            for agent_name, agent in agents:
                if agent is self.last_agent:
                    return agent_name, agent
            return "agent", self.last_agent
        raise UsageError("no agent yet: create one, e.g. agent = agno_nb.Agent(), then chat")

    @cell_magic
    def agno_chat(self, line: str, cell: str) -> None:
        """Send the cell to an agent and show the answer.

        %%agno_chat [AGENT]
        AGENT is the variable name of an agno_nb Agent or an agno Agent/Team (1.x,
        2.x or 3.x); default: the one most recently created or attached. The
        answer shows inline as escaped HTML (agno's print_response prints
        nothing in a notebook): tool calls, reasoning and metrics included.
        """
        p = _Parser("%%agno_chat")
        p.add_argument("agent", nargs="?")
        args = p.parse_line(line)
        message = cell.strip()
        if not message:
            raise UsageError("%%agno_chat: the cell is empty; write the message below the magic")
        name, agent = self._resolve_agent(args.agent)
        with _usage_errors(url=getattr(getattr(agent, "storage", None), "display_url", None)):
            response = agent.run(message)
        self.last_agent = agent
        from IPython.display import display

        from agno_nb.integrations.agno_db import run_dict
        from agno_nb.render import runs_html

        run = run_dict(response)
        text = f"{name}: {getattr(response, 'content', response)}"
        html = runs_html([run], system=False)
        note = _history_off_note(agent, name)
        if note:
            from agno_nb.render import muted_html

            html, text = html + muted_html(note), f"{text}\n({note})"
        display(_Shown(html, text))

    # -- sessions -----------------------------------------------------------------------

    @line_magic
    def agno_sessions(self, line: str = "") -> Any:
        """List sessions, newest first, as a pandas DataFrame.

        %agno_sessions [--user U] [--agent A] [--search TEXT] [--limit N]
                       [--label good|bad|unlabelled]

        The DataFrame has every summary column; it displays as one line per
        session (short id, name or first question, user, runs, last activity;
        an error column only when a row has one) and says when the limit left
        sessions out ("showing 20 of 25 sessions (--limit N for more)").
        """
        p = _Parser("%agno_sessions")
        p.add_argument("--user")
        p.add_argument("--agent")
        p.add_argument("--search")
        p.add_argument("--limit", type=_positive)
        p.add_argument("--label", choices=("good", "bad", "unlabelled"))
        args = p.parse_line(line)
        storage = self.storage
        filters = {"user_id": args.user, "entity_id": args.agent, "search": args.search}
        with _usage_errors():
            if args.label:  # sessions with a run labelled so (see agno_nb.magics_evaluate)
                from agno_nb.magics_evaluate import sessions_by_label

                limit = args.limit or self.display_limit
                frame, total = sessions_by_label(storage, args.label, filters, limit)
            else:
                frame = storage.sessions_df(**filters, limit=args.limit or self.display_limit)
                total = storage.count_sessions(**filters)
        from agno_nb.sessions import ENTITY_COLUMN
        from agno_nb.sessions_frame import SessionsFrame

        entity = ENTITY_COLUMN.get(storage.mode, "agent_id").removesuffix("_id")
        distinct = {v for v in frame.get("entity_id", []) if isinstance(v, str) and v}
        empty = None
        if not total:
            with _usage_errors():
                empty = _no_sessions_line(storage, args)
        return SessionsFrame(
            frame,
            total=total,
            entity_label=entity if len(distinct) > 1 else None,
            empty_note=empty,
        )

    @line_magic
    def agno_history(self, line: str = "") -> Any:
        """Show the session browser, or with --static one session's HTML transcript.

        %agno_history [SESSION_ID] [--user U] [--static]
        Default session: the newest (of user U). The browser stays live: after
        each cell it shows new runs and sessions (without SESSION_ID it moves
        to a newer session until you click one).
        """
        p = _Parser("%agno_history")
        p.add_argument("session_id", nargs="?")
        p.add_argument("--user")
        p.add_argument("--static", action="store_true")
        args = p.parse_line(line)
        storage = self.storage
        with _usage_errors():
            session_id = args.session_id or self._newest(storage, args.user)
            if args.static:
                session = storage.read(session_id, user_id=args.user)
                if session is None:
                    raise UsageError(self._unknown(session_id, args.user))
                from agno_nb.integrations.agno_traces import spans_by_run
                from agno_nb.render import session_html, transcript_text

                spans = spans_by_run(storage, (r.get("run_id") for r in session.run_dicts))
                return _Shown(session_html(session, spans=spans), transcript_text(session))
            self._require_session(storage, session_id, args.user)
            from agno_nb.widgets import SessionBrowser

            return SessionBrowser(
                storage,
                user_id=args.user,
                page_size=self.page_size,
                history_page_size=self.history_page_size,
                session_id=session_id,
                follow_newest=args.session_id is None,
            )

    @staticmethod
    def _unknown(session_id: str, user: str | None) -> str:
        of = f" of user {user!r}" if user else ""
        return f"no session {session_id!r}{of}: list them with %agno_sessions"

    def _newest(self, storage: Any, user: str | None) -> str:
        newest = storage.list_sessions(user_id=user, limit=1)
        if not newest:
            of = f" for user {user!r}" if user else ""
            raise UsageError(f"no sessions{of} yet in {storage.table_name}: run an agent first")
        return str(newest[0].session_id)

    def _require_session(self, storage: Any, session_id: str, user: str | None) -> None:
        from agno_nb.errors import SessionNotFoundError
        from agno_nb.widgets.session_history import find_summary

        try:
            storage.count_runs(session_id)
        except SessionNotFoundError:
            raise UsageError(self._unknown(session_id, user)) from None
        if user is not None:
            summary = find_summary(storage, session_id)
            if summary is not None and summary.user_id != user:
                raise UsageError(self._unknown(session_id, user))

    # -- upgrades -----------------------------------------------------------------------

    @line_magic
    def agno_upgrade(self, line: str = "") -> Any:
        """Show the table's layout and planned upgrade steps; apply them unless --dry-run.

        %agno_upgrade [--dry-run] [--skip-corrupt]

        ``--skip-corrupt`` leaves rows whose runs cannot be moved as they are.
        """
        p = _Parser("%agno_upgrade")
        p.add_argument("--dry-run", action="store_true")
        p.add_argument("--skip-corrupt", action="store_true")
        args = p.parse_line(line)
        storage = self.storage
        from agno_nb.render import plan_html

        with _usage_errors():
            plan = storage.upgrade_schema(dry_run=True)
            if args.dry_run or not plan.pending:
                return _Shown(plan_html(plan), str(plan))
            result = storage.upgrade_schema(
                progress=self._progress_bar(), skip_corrupt=args.skip_corrupt
            )
        return _Shown(plan_html(result), str(result))

    @staticmethod
    def _progress_bar() -> Callable[[int, int], None]:
        import ipywidgets as widgets
        from IPython.display import display

        bar = widgets.IntProgress(value=0, min=0, max=1, description="upgrading")
        display(bar)

        def update(done: int, total: int) -> None:
            bar.max = max(1, total)
            bar.value = min(done, bar.max)

        return update

    # -- agno 1.x -> agno 3.x (agno_nb.agno3) ------------------------------------------

    @line_magic
    def agno_migrate(self, line: str = "") -> Any:
        """Move agno 1.x session tables into agno 3.x's tables, with a progress bar and
        the report (the plan and its DDL with --dry-run). Without a URL: the open
        storage's database and table.

        %agno_migrate [SOURCE_URL] [--table T]... [--schema S] [--target URL]
                      [--target-schema S] [--memory-table T] [--dry-run] [--skip-bad]
        """
        from agno_nb.agno3.options import add_migrate_arguments, run_migrate

        p = _Parser("%agno_migrate")
        add_migrate_arguments(p, url_required=False)
        args = p.parse_line(line)
        if args.source_url is None:
            storage = self.storage
            args.source_url = storage.db_engine.url.render_as_string(hide_password=False)
            args.tables = args.tables or [storage.table_name]
            args.schema = args.schema or storage.schema
        from IPython.display import display

        from agno_nb.widgets.migrate_progress import MigrateProgress

        progress = MigrateProgress()
        if not args.dry_run:
            display(progress)
        from agno_nb.agno3 import VerificationError

        with _usage_errors(args.source_url):
            try:
                return run_migrate(args, progress=progress)
            except VerificationError as exc:
                display(exc.report)  # what the target holds, then the error line
                raise


def load_ipython_extension(ip: Any) -> None:
    """Register the magics, their ``%config`` options and the agent tracker."""
    magics = AgnoMagics(shell=ip, parent=ip)
    ip.register_magics(magics)
    from agno_nb.magics_evaluate import EvaluateMagics

    ip.register_magics(EvaluateMagics(shell=ip))
    if magics not in ip.configurables:
        ip.configurables.append(magics)
    ip.events.register("post_run_cell", magics._post_run_cell)
    ip.events.register("pre_run_cell", magics._pre_run_cell)
    register = getattr(ip.displayhook, "register_hook", None)  # ipykernel >= 7
    if callable(register):
        register(magics.drop_duplicate_result)
    ip._agno_nb_magics = magics


def unload_ipython_extension(ip: Any) -> None:
    """Stop tracking agents (the magics stay registered, as IPython has no unregister)."""
    magics = getattr(ip, "_agno_nb_magics", None)
    if magics is not None:
        with suppress(ValueError):
            ip.events.unregister("post_run_cell", magics._post_run_cell)
        with suppress(ValueError):
            ip.events.unregister("pre_run_cell", magics._pre_run_cell)
        unregister = getattr(ip.displayhook, "unregister_hook", None)
        if callable(unregister):
            with suppress(ValueError):
                unregister(magics.drop_duplicate_result)
        if magics in ip.configurables:
            ip.configurables.remove(magics)
