# %% [markdown]
# # 01 · Sessions that continue on SQLite
#
# An agent whose conversation survives the kernel: give it a **fixed `session_id`** and a
# storage, and every run is written to the database; a new `Agent` (in a new kernel, a new
# process, tomorrow) with the same id and database picks the conversation up where it
# stopped.
#
# Everything here runs offline: `OfflineModel` is a deterministic stand-in for an LLM that
# can answer questions about the conversation it is shown. Swap in
# `agno_nb.models.OpenAIChat(id="gpt-4o-mini")` for a real model; nothing else changes.
#
# Files are written under `tmp/` next to this notebook.

# %%
# Start from an empty database so the notebook shows the same thing on every run.
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
Path("tmp/data.db").unlink(missing_ok=True)

# %% [markdown]
# ## The seed example
#
# `add_history_to_messages=True` shows the model the last `num_history_runs` runs, so it can
# answer "What was my last question?". On a fresh database the first answer cannot know.

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import SqliteStorage

agent = Agent(
    model=OfflineModel(),
    session_id="fixed_id_for_demo",
    storage=SqliteStorage(table_name="agent_sessions", db_file="tmp/data.db"),
    add_history_to_messages=True,
    num_history_runs=3,
)
agent.print_response("What was my last question?")
agent.print_response("What is the capital of France?")
agent.print_response("What was my last question?")

# %% [markdown]
# ## The next execution cycle
#
# A brand-new `Agent` object, as you would create in a restarted kernel: same database file,
# same session id. Its first run loads the session from storage, so this time the first
# answer names the question from the previous cycle.

# %%
agent = Agent(
    model=OfflineModel(),
    session_id="fixed_id_for_demo",
    storage=SqliteStorage(table_name="agent_sessions", db_file="tmp/data.db"),
    add_history_to_messages=True,
    num_history_runs=3,
)
agent.print_response("What was my last question?")

# %% [markdown]
# ## What the session holds
#
# `get_messages_for_session()` returns every message the runs added, oldest first, in agno's
# message format (`role`, `content`, `created_at`, `metrics`, ...). Copies of earlier turns
# that were only shown to the model as history are left out.

# %%
messages = agent.get_messages_for_session()
print(len(messages), "messages")
for message in messages:
    print(f"{message['role']:>9}: {message['content']}")

# %% [markdown]
# The same holds across processes (this is what `agno-nb demo` does in a terminal). Here the seed example runs as a plain script in a separate
# Python process (where `print_response` prints plain text instead of Markdown), twice, on the
# same database.

# %%
import subprocess
import sys

script = Path("tmp/seed_example.py")
script.write_text(
    """
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import SqliteStorage

agent = Agent(
    model=OfflineModel(),
    session_id="fixed_id_for_demo",
    storage=SqliteStorage(table_name="agent_sessions", db_file="tmp/data.db"),
    add_history_to_messages=True,
    num_history_runs=3,
)
agent.print_response("What was my last question?")
agent.print_response("What is the capital of Japan?")
"""
)
for cycle in (1, 2):
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120
    )
    print(f"process {cycle}:")
    print(result.stdout)

# %% [markdown]
# ## The same database from the notebook magics
#
# `%agno_storage sqlite tmp/data.db` opens the storage and shows one status: the table, its
# sessions, and which agents use it. The `agent` above keeps the storage it was given (here
# the same table, so the status counts it as a user); agents without one get this one, and
# new agents take it. `%agno_history --static` shows a session as an HTML transcript (in a
# terminal or on GitHub it reads as text).

# %%
%load_ext agno_nb

# %%
storage = %agno_storage sqlite tmp/data.db

# %%
%agno_history fixed_id_for_demo --static

# %% [markdown]
# New agents without a storage of their own now use the one the magic opened. This one loads
# the session afresh, with the runs the two scripts added, so it knows the newest question.

# %%
again = Agent(session_id="fixed_id_for_demo", add_history_to_messages=True)
again.print_response("What was my last question?")
print(storage.count_runs("fixed_id_for_demo"), "runs stored")
