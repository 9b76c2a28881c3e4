"""Run by agno 3.1.10's own interpreter (tests/conftest.py ``run_agno3``): read
migrated sessions back with agno's ``SqliteDb`` / ``PostgresDb`` and print what
agno sees as JSON; with ``--continue SESSION``, a real agno ``Agent`` with
``add_history_to_context=True`` and an offline fake model runs one more turn of
that session and reports the history the model was given.

argv: URL_OR_FILE [--schema S] [--continue SESSION_ID PROMPT]
"""

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

os.environ["AGNO_TELEMETRY"] = "false"

from agno.agent import Agent
from agno.db.base import SessionType
from agno.models.base import Model
from agno.models.response import ModelResponse

SEEN: list[list[Any]] = []


@dataclass
class HistoryModel(Model):
    """Offline model: answers "seen N messages" and records what it was given."""

    id: str = "history-model"
    name: str = "HistoryModel"
    provider: str = "fake"

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        messages = kwargs.get("messages") or args[0]
        SEEN.append([[m.role, m.get_content_string()] for m in messages])
        return ModelResponse(role="assistant", content=f"seen {len(messages)} messages")

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self.invoke(*args, **kwargs)

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return response

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return response


def open_db(target: str, schema: str | None) -> Any:
    if target.startswith("postgresql"):
        from agno.db.postgres import PostgresDb

        return PostgresDb(db_url=target, db_schema=schema or "ai")
    from agno.db.sqlite import SqliteDb

    return SqliteDb(db_file=target)


def describe(session: Any) -> dict[str, Any]:
    runs = []
    for run in session.runs or []:
        runs.append(
            {
                "run_id": run.run_id,
                "status": getattr(run.status, "value", run.status),
                "input": getattr(run.input, "input_content", run.input),
                "content": run.content,
                "created_at": run.created_at,
                "messages": [
                    [m.role, m.get_content_string(), bool(m.from_history)]
                    for m in getattr(run, "messages", None) or []
                ],
                "tools": [t.tool_name for t in getattr(run, "tools", None) or []],
                "metrics": run.metrics.to_dict() if run.metrics else None,
            }
        )
    return {
        "session_id": session.session_id,
        "type": type(session).__name__,
        "user_id": session.user_id,
        "name": (session.session_data or {}).get("session_name"),
        "state": (session.session_data or {}).get("session_state"),
        "summary": session.summary.summary if getattr(session, "summary", None) else None,
        "metadata": session.metadata,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "runs": runs,
        "history": [[m.role, m.get_content_string()] for m in session.get_messages()]
        if type(session).__name__ != "WorkflowSession"
        else None,
    }


def main() -> None:
    args = sys.argv[1:]
    target = args.pop(0)
    schema = None
    if "--schema" in args:
        i = args.index("--schema")
        schema = args[i + 1]
        del args[i : i + 2]
    db = open_db(target, schema)
    if args and args[0] == "--continue":
        session_id, prompt = args[1], args[2]
        session = db.get_session(session_id=session_id, session_type=SessionType.AGENT)
        agent = Agent(
            model=HistoryModel(),
            db=db,
            session_id=session_id,
            user_id=session.user_id,
            add_history_to_context=True,
            num_history_runs=100,
            telemetry=False,
        )
        response = agent.run(prompt)
        after = db.get_session(session_id=session_id, session_type=SessionType.AGENT)
        print(json.dumps({"seen": SEEN[-1], "answer": response.content, "after": describe(after)}))
        return
    if args and args[0] == "--memories":
        memories = db.get_user_memories()
        print(
            json.dumps(
                {
                    m.memory_id: {
                        "memory": m.memory,
                        "topics": m.topics,
                        "input": m.input,
                        "user_id": m.user_id,
                        "created_at": m.created_at,
                    }
                    for m in memories
                },
                default=str,
            )
        )
        return
    out = {}
    for kind in (SessionType.AGENT, SessionType.TEAM, SessionType.WORKFLOW):
        for session in db.get_sessions(session_type=kind):
            full = db.get_session(session_id=session.session_id, session_type=kind)
            out[session.session_id] = describe(full)
    print(json.dumps(out, default=str))


main()
