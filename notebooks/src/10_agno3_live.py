# %% [markdown]
# # 10 · agno 3 agents, live in the notebook
#
# With agno 2.x or 3.x installed, `%agno_storage sqlite PATH` (or `postgres URL`) gives
# agno's own `Agent`, `Team` and `Workflow` objects agno's own db (`SqliteDb`,
# `PostgresDb`) on that database: the ones already defined, and the ones you make later
# (when the cell that made them ends). agno writes its sessions to its `agno_sessions`
# and `agno_runs` tables as usual, and agno_nb shows them as they happen:
# `%agno_sessions`, `%agno_history`, and an open session browser that catches up after
# every cell.
#
# Everything here runs offline: the model is a tiny agno `Model` subclass that answers
# from a script (a tool call for `add A B`, an echo otherwise). Needs `agno>=2` in the
# kernel (this notebook is tested with agno 3.1.10).

# %%
import json
import os
from dataclasses import dataclass
from pathlib import Path

os.environ["AGNO_TELEMETRY"] = "false"
Path("tmp").mkdir(exist_ok=True)
for name in ("tmp/live.db", "tmp/live.db-wal", "tmp/live.db-shm"):
    Path(name).unlink(missing_ok=True)

from agno.agent import Agent
from agno.metrics import MessageMetrics
from agno.models.base import Model
from agno.models.response import ModelResponse
from agno.team import Team


@dataclass
class ScriptedModel(Model):
    """An offline agno model: ``add A B`` calls the ``add`` tool, a tool result is
    reported, "delegate: TASK" hands TASK to the team's member, anything else is echoed."""

    id: str = "scripted-1"
    name: str = "ScriptedModel"
    provider: str = "offline"

    def _answer(self, messages, tools):
        last = messages[-1]
        if last.role == "tool":
            return {"content": f"The tool said: {last.get_content_string()}"}
        text = last.get_content_string()
        names = {t.get("function", t).get("name") for t in tools or []}
        words = text.split()
        if text.startswith("delegate:") and "delegate_task_to_member" in names:
            args = {"member_id": "calculator", "task": text.split(":", 1)[1].strip()}
            return {"call": ("delegate_task_to_member", args)}
        if len(words) == 3 and words[0] == "add" and "add" in names:
            return {"call": ("add", {"a": int(words[1]), "b": int(words[2])})}
        if text == "how many questions so far?":
            return {"content": f"I see {sum(m.role == 'user' for m in messages)} user messages"}
        return {"content": f"echo: {text}"}

    def invoke(self, messages, *args, **kwargs):
        answer = self._answer(messages, kwargs.get("tools"))
        calls = []
        if "call" in answer:
            name, arguments = answer["call"]
            function = {"name": name, "arguments": json.dumps(arguments)}
            calls.append({"id": f"call_{name}_{len(messages)}", "type": "function", "function": function})
        usage = MessageMetrics(input_tokens=12, output_tokens=6, total_tokens=18)
        return ModelResponse(
            role="assistant", content=answer.get("content"), tool_calls=calls, response_usage=usage
        )

    async def ainvoke(self, *args, **kwargs):
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args, **kwargs):
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args, **kwargs):
        yield self.invoke(*args, **kwargs)

    def _parse_provider_response(self, response, **kwargs):
        return response

    def _parse_provider_response_delta(self, response):
        return response


def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)

# %% [markdown]
# ## An agent made before `%agno_storage`, a team made after
#
# `calculator` exists before any storage is open; it has no db. Opening the storage gives
# it agno's `SqliteDb` on `tmp/live.db`, and says so. The table is agno's own
# `agno_sessions` (created with agno's own DDL when it is missing).

# %%
calculator = Agent(model=ScriptedModel(), id="calculator", name="calculator", tools=[add], telemetry=False)
print(calculator.db)

# %%
%load_ext agno_nb
%agno_storage sqlite tmp/live.db

# %%
desk = Team(members=[calculator], model=ScriptedModel(), id="desk", name="desk", telemetry=False)

# %% [markdown]
# `desk` was made after the magic: when its cell ended it got the same db.

# %%
print(type(calculator.db).__name__, calculator.db.db_file, calculator.db.session_table_name)
print(desk.db is calculator.db)

# %% [markdown]
# ## Run, and look
#
# The agent calls its tool; agno stores the run (messages, the tool call with its
# arguments and result, metrics). `%agno_sessions` lists it straight away.

# %%
first = calculator.run("add 2 3", session_id="calc-1", user_id="ada")
print(first.content)

# %%
%agno_sessions

# %% [markdown]
# `%agno_history` opens the session browser. It stays live: after each cell that runs an
# agent, it shows the new runs (and, until you click a session, moves to a newer one)
# without a click on Refresh.

# %%
browser = %agno_history
browser

# %%
for question in ("add 40 2", "how many questions so far?"):
    print(calculator.run(question, session_id="calc-1", user_id="ada").content)

# %% [markdown]
# No refresh was clicked; the browser above now shows three runs:

# %%
print(browser.selected, browser.history.total_runs, "runs")

# %% [markdown]
# ## The team's run, with its member's run nested
#
# Team sessions are in the same table, with `session_type = team`. Open that view with
# `--mode team`; the team's run shows its delegation tool call, its metrics, and the
# member's run (with the `add` call) nested under it.

# %%
print(desk.run("delegate: add 7 35", session_id="desk-1", user_id="ada").content)

# %%
%agno_storage sqlite tmp/live.db --mode team --as teams
%agno_history --static

# %% [markdown]
# ## `%%agno_chat` with an agno agent
#
# agno's `print_response` prints nothing in a notebook; `%%agno_chat` shows the answer
# inline, as escaped HTML (tool calls included), and the run lands in the session as usual.

# %%
%%agno_chat calculator
add 1 2

# %% [markdown]
# ## agno 3 reads it back
#
# A fresh agno db object on the same file reads every run, in order, and a fresh agno
# Agent continuing the session answers from that history.

# %%
from agno.db.sqlite import SqliteDb

fresh = SqliteDb(db_file="tmp/live.db")
session = fresh.get_session("calc-1", session_type="agent")
print([run.content for run in session.runs])
again = Agent(
    model=ScriptedModel(), id="calculator", db=fresh, session_id="calc-1",
    add_history_to_context=True, num_history_runs=10, telemetry=False,
)
print(again.run("how many questions so far?").content)

# %% [markdown]
# ## agno_nb's own Agent continuing the session
#
# agno_nb's `Agent` on the same table continues the session an agno agent started: it
# reads agno's runs as its history and writes its own runs the way agno 3 saves them
# (issue 19, part A). agno reads them back like its own.

# %%
import agno_nb
from agno_nb.storage import SqliteStorage

agno_table = SqliteStorage("agno_sessions", db_file="tmp/live.db")
helper = agno_nb.Agent(
    agent_id="calculator", session_id="calc-1", user_id="ada", storage=agno_table,
    add_history_to_messages=True, num_history_runs=10,
)
print(helper.run("What was my last question?").content)  # answered from agno's runs
session = SqliteDb(db_file="tmp/live.db").get_session("calc-1", session_type="agent")
print(len(session.runs), "runs:", [run.input.input_content for run in session.runs])

# %% [markdown]
# ## Async agents
#
# `--async` gives `AsyncSqliteDb` / `AsyncPostgresDb`, for agents run with
# `await agent.arun(...)` (a sync db would block Jupyter's event loop). Needs `aiosqlite`
# (SQLite) or `psycopg` (Postgres). Postgres works the same way:
# `%agno_storage postgres postgresql+psycopg://user:pass@host:5432/db` gives `PostgresDb`
# on schema `ai` (or `--schema S`). DuckDB has no agno db: `%agno_storage duckdb ...` with
# agno agents in the notebook says to use SQLite or Postgres for them.
