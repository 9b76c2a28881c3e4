"""Run by agno 3.1.10 in a fresh process (``run_agno3(script, ...)``): read a session
agno_nb continued, check each run is what agno itself would store, and let agno's
own Agent (the offline ``FakeModel``) answer from that history.

Arguments: ``sqlite PATH`` or ``postgres URL SCHEMA``, then ``SESSION_ID AGENT_ID``.

Output (JSON, last line):
- ``runs``: ``[input, content, agent_id, status]`` per run, in agno's order
  (``db.get_session``);
- ``not_canonical``: run ids whose stored dict agno's ``RunOutput.from_dict(...).to_dict()``
  changes (besides the empty ``events``/``tools`` lists, which agno's own rows lose too);
- ``message_keys``: per run, the sorted keys of its messages;
- ``answer``: what agno's Agent (``add_history_to_context``, 100 history runs) answers
  to ``COUNT_PROMPT``: ``I see N user messages`` counts the history it was given;
- ``sqlite_cells_not_agnos``: on SQLite, the JSON cells of the session's rows (read
  before agno's Agent saves anything) whose text is not ``json.dumps`` of their value
  (agno 3.1.10's encoding: once, default separators).
"""

import copy
import json
import os
import sys

os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.agent import Agent
from agno.db.base import SessionType
from agno.run.agent import RunOutput
from agno3_fixtures import COUNT_PROMPT, fake_model_class


def open_db(argv):
    if argv[0] == "sqlite":
        from agno.db.sqlite import SqliteDb

        return SqliteDb(db_file=argv[1]), argv[2:]
    from agno.db.postgres import PostgresDb

    return PostgresDb(db_url=argv[1], db_schema=argv[2]), argv[3:]


def normal(run):
    out = dict(run)
    for key in ("events", "tools"):
        if out.get(key) == []:
            out.pop(key)
    return out


def sqlite_cells(path, session_id):
    import sqlite3

    con = sqlite3.connect(path)
    bad = []
    try:
        cols = ("session_data", "agent_data", "metadata", "summary")
        row = con.execute(
            f"SELECT {', '.join(cols)} FROM agno_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        cells = list(zip(cols, row, strict=True))
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        if "agno_runs" in tables:
            cells += con.execute(
                "SELECT run_id, run_data FROM agno_runs WHERE session_id = ?", (session_id,)
            ).fetchall()
        for name, text in cells:
            if text is not None and text != json.dumps(json.loads(text)):
                bad.append(name)
            elif text is not None and isinstance(json.loads(text), str):
                bad.append(name)  # encoded twice
    finally:
        con.close()
    return bad


def main(argv):
    db, rest = open_db(argv)
    session_id, agent_id = rest[0], rest[1]
    raw = db.get_session(session_id, session_type=SessionType.AGENT, deserialize=False)
    not_canonical = []
    message_keys = []
    for run in raw["runs"]:
        again = RunOutput.from_dict(copy.deepcopy(run)).to_dict()
        if normal(again) != normal(run):
            not_canonical.append(run.get("run_id"))
        message_keys.append(sorted({k for m in run.get("messages") or [] for k in m}))
    session = db.get_session(session_id, session_type=SessionType.AGENT)
    runs = [
        [r.input.input_content if r.input else None, r.content, r.agent_id, r.status.value]
        for r in session.runs
    ]
    cells = sqlite_cells(argv[1], session_id) if argv[0] == "sqlite" else []
    agent = Agent(
        model=fake_model_class()(),
        id=agent_id,
        db=db,
        session_id=session_id,
        add_history_to_context=True,
        num_history_runs=100,
        telemetry=False,
    )
    answer = agent.run(COUNT_PROMPT).content
    out = {
        "runs": runs,
        "not_canonical": not_canonical,
        "message_keys": message_keys,
        "answer": answer,
        "sqlite_cells_not_agnos": cells,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
