# %% [markdown]
# # 07 · agno 1.x agents on agno_nb storage
#
# Already using [agno](https://github.com/agno-agi/agno) 1.x? Keep your agents; give them an
# agno_nb storage. `as_agno_storage(storage)` wraps any agno_nb storage (SQLite, DuckDB,
# Postgres) in agno's own `Storage` interface, so agno's `Agent(storage=...)` reads and writes
# its sessions there, in agno's session format, and everything in agno_nb (widgets, magics,
# DataFrames, upgrades) works on them.
#
# This needs agno 1.x (`pip install "agno>=1.4,<2"`).

# %%
import os
from pathlib import Path

os.environ["AGNO_TELEMETRY"] = "false"  # agno would otherwise report usage over the network
Path("tmp").mkdir(exist_ok=True)
Path("tmp/agno_interop.duckdb").unlink(missing_ok=True)
Path("tmp/agno_interop.duckdb.wal").unlink(missing_ok=True)

# %% [markdown]
# ## An offline model for agno
#
# With network access you would pass agno's own model, e.g.
# `agno.models.openai.OpenAIChat(id="gpt-4o-mini")`. To stay offline and reproducible, this
# small class puts agno's `Model` interface around agno_nb's `OfflineModel`.

# %%
from dataclasses import dataclass
from typing import Any

from agno.models.base import Model as AgnoModel
from agno.models.response import ModelResponse as AgnoModelResponse

from agno_nb.models import OfflineModel


@dataclass
class OfflineAgnoModel(AgnoModel):
    """agno's Model interface around agno_nb's deterministic OfflineModel."""

    id: str = "offline"
    name: str = "OfflineModel"
    provider: str = "agno_nb"

    def invoke(self, messages: list, tools: list | None = None, **kwargs: Any) -> Any:
        chat = [
            {"role": m.role, "content": m.content, "tool_calls": m.tool_calls,
             "tool_call_id": m.tool_call_id, "tool_name": m.tool_name}
            for m in messages
        ]
        return OfflineModel().response(chat, tools=tools or None)

    async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self.invoke(*args, **kwargs)

    def parse_provider_response(self, response: Any, **kwargs: Any) -> AgnoModelResponse:
        return AgnoModelResponse(
            role="assistant",
            content=response.content,
            tool_calls=[call.to_dict() for call in response.tool_calls],
            response_usage=response.metrics.to_dict(),
        )

    def parse_provider_response_delta(self, response: Any) -> AgnoModelResponse:
        return self.parse_provider_response(response)

# %% [markdown]
# ## agno's Agent, agno_nb's DuckDB storage
#
# Everything agno-specific stays as it was; only `storage=` changes.

# %%
from agno.agent import Agent as AgnoAgent

from agno_nb.integrations.agno import as_agno_storage
from agno_nb.storage import DuckDbStorage

storage = DuckDbStorage(table_name="agent_sessions", db_file="tmp/agno_interop.duckdb")


def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return {"Paris": "sunny, 24 C", "Oslo": "rain, 11 C"}.get(city, "cloudy, 18 C")


def agno_agent(session_id: str, user_id: str) -> AgnoAgent:
    return AgnoAgent(
        model=OfflineAgnoModel(),
        storage=as_agno_storage(storage),
        agent_id="agno-helper",
        session_id=session_id,
        user_id=user_id,
        tools=[get_weather],
        add_history_to_messages=True,
        telemetry=False,
        monitoring=False,
    )


agent = agno_agent("agno-001", "alice")
for prompt in ["My name is Alice.", "Use get_weather for 'Paris'", "What is my name?"]:
    print(f"{prompt!r:35} -> {agent.run(prompt).content}")

# %% [markdown]
# A new agno Agent (the next execution cycle) continues the stored session:

# %%
agent = agno_agent("agno-001", "alice")
print(agent.run("What was my last question?").content)

other = agno_agent("agno-002", "bob")
print(other.run("Use get_weather for 'Oslo'").content)

# %% [markdown]
# ## Browse them with agno_nb
#
# agno wrote agno 1.x session JSON; agno_nb reads it like its own.

# %%
storage.sessions_df()[["session_id", "user_id", "entity_id", "run_count", "message_count", "preview"]]

# %%
from agno_nb.widgets import SessionBrowser

SessionBrowser(storage, session_id="agno-001")

# %% [markdown]
# ## And the other way round
#
# An agno_nb `Agent` can continue the session agno started (same table, same format), and agno
# sees the new run.

# %%
from agno_nb import Agent

ours = Agent(
    model=OfflineModel(), session_id="agno-001", storage=storage, add_history_to_messages=True
)
ours.print_response("What was my last question?")
print(agno_agent("agno-001", "alice").run("What was my last question?").content)
print(storage.count_runs("agno-001"), "runs in agno-001")

# %% [markdown]
# ## `%agno_storage` attaches to agno agents too
#
# An agno Agent in the notebook without a storage gets the one the magic opens.

# %%
fresh = AgnoAgent(
    model=OfflineAgnoModel(),
    agent_id="agno-helper",
    session_id="agno-003",
    user_id="carol",
    telemetry=False,
    monitoring=False,
)

# %%
%load_ext agno_nb
interop = %agno_storage duckdb tmp/agno_interop.duckdb --as interop

# %%
fresh.run("Hello from an agno agent the magic attached.")
%agno_sessions --user carol
