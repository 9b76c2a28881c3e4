# %% [markdown]
# # 02 · Sessions on Postgres
#
# The same agent, with its sessions in Postgres: what you use when several processes,
# notebooks or servers share one history.
#
# **A server to talk to.** The URL comes from `AGNO_NB_POSTGRES_URL` (then
# `AGNO_NB_TEST_POSTGRES_URL`, then a local server at
# `postgresql+psycopg://postgres@127.0.0.1:5432/test`). On Binder it is set for you. Elsewhere,
# start agno's documented container and point the variable at it:
#
# ```bash
# docker run -d -e POSTGRES_DB=ai -e POSTGRES_USER=ai -e POSTGRES_PASSWORD=ai \
#   -p 5532:5432 --name pgvector agnohq/pgvector:16
# export AGNO_NB_POSTGRES_URL=postgresql+psycopg://ai:ai@localhost:5532/ai
# ```
#
# The notebook keeps its tables in its own schema, `agno_nb_cookbook`, and empties them at the
# start, so reruns show the same thing.

# %%
import os

from agno_nb.storage import PostgresStorage

PG_URL = (
    os.environ.get("AGNO_NB_POSTGRES_URL")
    or os.environ.get("AGNO_NB_TEST_POSTGRES_URL")
    or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
storage = PostgresStorage(table_name="agent_sessions", db_url=PG_URL, schema="agno_nb_cookbook")
storage.drop()  # a clean start: drops this schema's sessions table, its runs and its record
storage  # the password, if any, is masked

# %% [markdown]
# ## The seed example, on Postgres
#
# Nothing changes but the storage class. Two execution cycles, each with a new `Agent`:

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel


def seed_agent() -> Agent:
    return Agent(
        model=OfflineModel(),
        agent_id="seed",
        session_id="fixed_id_for_demo",
        storage=storage,
        add_history_to_messages=True,
        num_history_runs=3,
    )


agent = seed_agent()
agent.print_response("What was my last question?")
agent.print_response("What is the capital of France?")

agent = seed_agent()  # the next execution cycle
agent.print_response("What was my last question?")

# %% [markdown]
# ## Continue the user's latest session, or start a new one
#
# A chat app usually opens a user's most recent conversation and offers a "new chat" button.
# `get_all_session_ids(user_id)` lists a user's sessions **newest first**, so the latest is the
# first id; the `new` switch starts a fresh session instead.
#
# Readable, sortable session ids (`alice-001`, `alice-002`, ...) are optional but handy:
# sessions started within the same second are listed by id.

# %%
def chat_agent(user_id: str, *, new: bool = False) -> Agent:
    """An agent on the user's latest session, or on a new one (new=True or none yet)."""
    existing = storage.get_all_session_ids(user_id=user_id)  # newest first
    if existing and not new:
        session_id = existing[0]
    else:
        session_id = f"{user_id}-{len(existing) + 1:03d}"
    return Agent(
        model=OfflineModel(),
        agent_id="chat",
        user_id=user_id,
        session_id=session_id,
        storage=storage,
        add_history_to_messages=True,
    )


alice = chat_agent("alice")  # no session yet: starts alice-001
alice.print_response("My name is Alice.")
alice.print_response("What is the capital of Italy?")
print(alice.session_id)

# %% [markdown]
# Later (another kernel, another day): the same call continues where Alice stopped.

# %%
alice = chat_agent("alice")
print(alice.session_id)
alice.print_response("What is my name?")

# %% [markdown]
# Alice clicks "new chat": a fresh session, with no memory of the first one.

# %%
alice = chat_agent("alice", new=True)
print(alice.session_id)
alice.print_response("What is my name?")

# %%
bob = chat_agent("bob")
bob.print_response("My name is Bob.")

print("alice:", storage.get_all_session_ids(user_id="alice"))
print("bob:  ", storage.get_all_session_ids(user_id="bob"))
print("latest for alice:", chat_agent("alice").session_id)

# %% [markdown]
# ## What is stored
#
# `list_sessions()` returns one summary per session (no run payloads are loaded): name, counts,
# the first question. As a table, with `sessions_df()`:

# %%
columns = ["session_id", "user_id", "run_count", "message_count", "preview"]
storage.sessions_df()[columns].sort_values("session_id", ignore_index=True)

# %% [markdown]
# The rows live in ordinary Postgres tables, in the schema we chose: the sessions table in
# agno 1.x's layout plus summary columns, and one row per run in `agent_sessions_runs`.

# %%
import sqlalchemy as sa

with storage.db_engine.connect() as conn:
    rows = conn.execute(
        sa.text(
            "select table_name from information_schema.tables "
            "where table_schema = 'agno_nb_cookbook' order by table_name"
        )
    ).all()
[row.table_name for row in rows]

# %% [markdown]
# The same storage from the magics: `%agno_storage postgres URL --schema agno_nb_cookbook`,
# or a bare URL.

# %%
%load_ext agno_nb
%agno_storage postgres $PG_URL --schema agno_nb_cookbook --as pg
%agno_sessions --user alice

# %%
storage.close()
