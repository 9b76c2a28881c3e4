# %% [markdown]
# # 03 · Sessions in DuckDB, analysed with SQL and pandas
#
# DuckDB keeps the sessions in one file and is an analytics engine at the same time: the
# tables an agent writes can be queried with SQL (JSON functions included) and pulled into
# pandas, with no export step.
#
# We let a small travel agent with two tools talk to three users, then ask: how many runs and
# tokens per user, which sessions are the longest, which tools are used most.

# %%
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
Path("tmp/analytics.duckdb").unlink(missing_ok=True)
Path("tmp/analytics.duckdb.wal").unlink(missing_ok=True)

# %% [markdown]
# ## Some traffic
#
# Tools are plain Python functions; the name, docstring and type hints make their schema.
# `OfflineModel` calls a tool when the prompt names it, with `key=value` arguments or a quoted
# string.

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import DuckDbStorage

storage = DuckDbStorage(table_name="agent_sessions", db_file="tmp/analytics.duckdb")

WEATHER = {"Paris": "sunny, 24 C", "Oslo": "rain, 11 C", "Lisbon": "clear, 27 C"}
RATES = {"USD": 1.08, "GBP": 0.85, "JPY": 162.0}


def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return WEATHER.get(city, "cloudy, 18 C")


def convert_currency(amount: float, currency: str) -> str:
    """Convert an amount of euros into another currency."""
    return f"{amount * RATES[currency]:.2f} {currency}"


CONVERSATIONS = {
    ("s01", "alice"): [
        "Use get_weather for 'Paris'",
        "convert_currency amount=250 currency=USD",
        "What was my last question?",
    ],
    ("s02", "bob"): ["My name is Bob.", "Use get_weather for 'Oslo'", "What is my name?"],
    ("s03", "alice"): ["convert_currency amount=40 currency=GBP"],
    ("s04", "carol"): [
        "Use get_weather for 'Lisbon'",
        "Use get_weather for 'Paris'",
        "convert_currency amount=80 currency=JPY",
        "convert_currency amount=80 currency=CHF",
        "Which of the two cities is warmer?",
        "Thanks, that is all.",
    ],
    ("s05", "bob"): ["When is the best time to visit Oslo?"],
}

for (number, user), prompts in CONVERSATIONS.items():
    agent = Agent(
        model=OfflineModel(),
        agent_id="travel-agent",
        user_id=user,
        session_id=f"{number}-{user}",
        storage=storage,
        tools=[get_weather, convert_currency],
        add_history_to_messages=True,
    )
    for prompt in prompts:
        agent.run(prompt)

print(storage.count_sessions(), "sessions,", len(storage.messages_df()), "messages")

# %% [markdown]
# ## The sessions at a glance
#
# `sessions_df()` reads only the summary columns (no run payloads), newest first.

# %%
storage.sessions_df()[["session_id", "user_id", "run_count", "message_count", "preview"]]

# %% [markdown]
# ## SQL on the storage's own tables
#
# The storage exposes its SQLAlchemy engine. `agent_sessions` holds one row per session
# (agno 1.x's columns plus summary columns); `agent_sessions_runs` one row per run, the run as
# JSON. DuckDB's JSON functions reach into it: each run's `metrics.total_tokens` is a list
# (one entry per model call), which `list_sum` adds up.
#
# **Runs and tokens per user:**

# %%
import pandas as pd
import sqlalchemy as sa

RUNS_AND_TOKENS = """
select s.user_id,
       count(distinct s.session_id) as sessions,
       count(*) as runs,
       sum(list_sum(cast(json_extract(r.run, '$.metrics.total_tokens') as integer[]))) as tokens
from agent_sessions_runs r
join agent_sessions s using (session_id)
group by s.user_id
order by tokens desc
"""
with storage.db_engine.connect() as conn:
    per_user = pd.read_sql(sa.text(RUNS_AND_TOKENS), conn)
per_user

# %% [markdown]
# **The longest sessions**, straight from the summary columns:

# %%
LONGEST = """
select session_id, user_id, run_count, message_count
from agent_sessions
order by message_count desc, session_id
limit 3
"""
with storage.db_engine.connect() as conn:
    longest = pd.read_sql(sa.text(LONGEST), conn)
longest

# %% [markdown]
# ## pandas: one row per message
#
# `messages_df()` flattens every run into messages: role, content, tool name, tokens. (Copies
# of earlier turns that a run only showed the model as history are not repeated.)

# %%
messages = storage.messages_df()
messages[["session_id", "run_index", "role", "tool_name", "content", "total_tokens"]].head(8)

# %% [markdown]
# **The most-used tools** (each `tool` message is one call):

# %%
messages[messages["role"] == "tool"]["tool_name"].value_counts().rename_axis("tool").reset_index()

# %% [markdown]
# Tokens per user again, this time in pandas: the same totals as the SQL above.

# %%
pandas_per_user = (
    messages.groupby("user_id")["total_tokens"].sum().sort_values(ascending=False).reset_index()
)
assert pandas_per_user["total_tokens"].tolist() == per_user["tokens"].tolist()
pandas_per_user

# %% [markdown]
# ## DuckDB SQL over the DataFrame
#
# DuckDB can also query a pandas DataFrame by its variable name. Which tool does each user
# rely on, and how often did it fail? (A tool that raises is reported to the model as an
# `error: ...` result, and recorded in the run.)

# %%
import duckdb

duckdb.sql(
    """
    select user_id, tool_name, count(*) as calls,
           count(*) filter (where content like 'error:%') as failures
    from messages
    where role = 'tool'
    group by user_id, tool_name
    order by user_id, calls desc, tool_name
    """
).df()

# %%
storage.close()
