"""Run by agno 3.1.10 (``run_agno3(script, ...)``): read every session back with agno's own
``get_session`` and print what agno sees, as JSON on the last line.

Arguments: ``sqlite PATH`` or ``postgres URL SCHEMA``; optionally ``--table NAME`` (the
session table; agno derives the runs table from it).

Output: ``{"sessions": [...]}`` in ``created_at`` order, each with ``session_id``,
``session_type``, ``user_id``, ``agent_id``, ``team_id``, ``name``
(``session_data["session_name"]``), ``created_at``, ``updated_at`` and ``runs`` in agno's
order: per run ``run_id``, ``parent_run_id``, ``input``, ``content``, ``status``,
``messages`` ((role, text) of the run's own messages, history copies and system messages
left out) and ``tool_calls`` (names).
"""

import json
import os
import sys

os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.db.base import SessionType


def open_db(argv):
    table = None
    if "--table" in argv:
        at = argv.index("--table")
        table, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    kw = {"session_table": table} if table else {}
    if argv[0] == "sqlite":
        from agno.db.sqlite import SqliteDb

        return SqliteDb(db_file=argv[1], **kw)
    from agno.db.postgres import PostgresDb

    return PostgresDb(db_url=argv[1], db_schema=argv[2], **kw)


def run_view(run):
    messages, tools = [], []
    for m in run.messages or []:
        if m.from_history or m.role == "system":
            continue
        messages.append([m.role, m.get_content_string()])
        tools += [str(c.get("function", {}).get("name")) for c in m.tool_calls or []]
    status = getattr(run.status, "value", run.status)
    return {
        "run_id": run.run_id,
        "parent_run_id": getattr(run, "parent_run_id", None),
        "input": run.input.input_content if run.input else None,
        "content": run.content,
        "status": status,
        "messages": messages,
        "tool_calls": tools,
    }


def main(argv):
    db = open_db(argv)
    found = []
    for kind in (SessionType.AGENT, SessionType.TEAM, SessionType.WORKFLOW):
        rows = db.get_sessions(session_type=kind, deserialize=False)
        rows = rows[0] if isinstance(rows, tuple) else rows
        for row in rows:
            session = db.get_session(row["session_id"], session_type=kind)
            data = session.session_data or {}
            found.append(
                {
                    "session_id": session.session_id,
                    "session_type": kind.value,
                    "user_id": session.user_id,
                    "agent_id": getattr(session, "agent_id", None),
                    "team_id": getattr(session, "team_id", None),
                    "name": data.get("session_name"),
                    "created_at": session.created_at,
                    "updated_at": session.updated_at,
                    "runs": [run_view(r) for r in session.runs or []],
                }
            )
    found.sort(key=lambda s: (s["created_at"], s["session_id"]))
    print(json.dumps({"sessions": found}, ensure_ascii=False))


main(sys.argv[1:])
