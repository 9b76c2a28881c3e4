# %% [markdown]
# # 06 · Inspect and evaluate: what the stored sessions are for
#
# Stored sessions are data. Two everyday uses:
#
# 1. **Few-shot examples**: pick the runs that went well and export them as JSONL, to put in a
#    prompt or fine-tune on.
# 2. **Monitoring**: activity over time and tokens per session, as a table and a plot.
#
# We need a week of history. It is made with the offline agent and stamped with the day each
# conversation supposedly happened (a real deployment has real timestamps, of course), so the
# numbers and dates below are the same on every run.

# %%
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
for name in ("evaluate.db", "few_shot.jsonl"):
    Path("tmp", name).unlink(missing_ok=True)

# %% [markdown]
# ## A week of support traffic
#
# A support agent with two tools. `lookup_order` fails for unknown order numbers, so some runs
# contain a tool error: those are not examples we want to imitate.

# %%
import datetime as dt

from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.sessions import AgentSession
from agno_nb.storage import SqliteStorage

storage = SqliteStorage(table_name="support_sessions", db_file="tmp/evaluate.db")
ORDERS = {1001: "shipped", 1002: "delivered", 1003: "processing"}


def lookup_order(order_id: int) -> str:
    """The status of an order."""
    return f"order {order_id} is {ORDERS[order_id]}"


def opening_hours(city: str) -> str:
    """When our shop in a city is open."""
    return f"{city}: 9:00-18:00, Monday to Saturday"


CONVERSATIONS = [  # (day of the week, user, prompts)
    (0, "alice", ["lookup_order order_id=1001", "Thanks!"]),
    (0, "bob", ["opening_hours for 'Berlin'"]),
    (1, "carol", ["lookup_order order_id=1002"]),
    (1, "alice", ["lookup_order order_id=9999", "What was my last question?"]),
    (2, "bob", ["My name is Bob.", "lookup_order order_id=1003", "What is my name?"]),
    (3, "dave", ["opening_hours for 'Paris'", "opening_hours for 'Lyon'"]),
    (3, "carol", ["Can I change my delivery address?"]),
    (4, "alice", ["lookup_order order_id=1002"]),
    (4, "dave", ["lookup_order order_id=4242"]),
    (4, "bob", ["opening_hours for 'Berlin'", "lookup_order order_id=1001"]),
    (5, "carol", ["opening_hours for 'Madrid'"]),
    (6, "alice", ["Do you ship to Norway?", "lookup_order order_id=1003"]),
]
MONDAY = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.timezone.utc)

for number, (day, user, prompts) in enumerate(CONVERSATIONS, start=1):
    started = int((MONDAY + dt.timedelta(days=day, minutes=number)).timestamp())
    agent = Agent(  # no storage: we stamp the runs with their day, then store them
        model=OfflineModel(),
        agent_id="support",
        user_id=user,
        tools=[lookup_order, opening_hours],
        add_history_to_messages=True,
    )
    runs = [agent.run(prompt).to_dict() for prompt in prompts]
    for offset, run in enumerate(runs):
        run["created_at"] = started + 60 * offset
        for message in run["messages"]:
            message["created_at"] = run["created_at"]
    storage.upsert(
        AgentSession(
            session_id=f"t{number:02d}-{user}",
            user_id=user,
            agent_id="support",
            memory={"runs": runs},
            created_at=started,
        )
    )
print(storage.count_sessions(), "sessions")

# %% [markdown]
# ## 1. Good runs as few-shot examples
#
# What counts as good is yours to decide. Here: the run called at least one tool, no tool
# failed, and the assistant answered. Runs are read page by page with `get_runs`, so this
# works on large tables too.

# %%
from agno_nb.export import few_shot_example, write_jsonl


def is_good(run: dict) -> bool:
    messages = [m for m in run.get("messages", []) if not m.get("from_history")]
    tool_results = [m for m in messages if m["role"] == "tool"]
    answered = bool(messages) and messages[-1]["role"] == "assistant" and messages[-1]["content"]
    return bool(tool_results) and answered and not any(m.get("tool_call_error") for m in tool_results)


good, bad = [], []
for summary in reversed(storage.list_sessions(limit=100)):  # oldest first
    for run in storage.get_runs(summary.session_id):
        (good if is_good(run) else bad).append((summary.session_id, run))

print(f"{len(good)} good runs, {len(bad)} others")
for session_id, run in bad:
    asked = next(m["content"] for m in run["messages"] if m["role"] == "user" and not m.get("from_history"))
    print(f"  left out: {session_id}: {asked!r}")

# %%
import json

examples = [few_shot_example(run, system=False) for _, run in good]
with open("tmp/few_shot.jsonl", "w", encoding="utf-8") as out:
    print(write_jsonl(examples, out), "examples written to tmp/few_shot.jsonl")
print(json.dumps(examples[0], indent=2))

# %% [markdown]
# ## 2. A small monitoring view
#
# `agno_nb.analysis.activity` counts runs, messages and tokens per user and UTC day, from
# `storage.messages_df()`. Copies of earlier turns shown to the model as history are not
# counted twice.

# %%
from agno_nb.analysis import activity, plot_activity

daily = activity(storage)
daily

# %% [markdown]
# Runs per day, one line per user (needs matplotlib, the `plot` extra):

# %%
import matplotlib.pyplot as plt

plot_activity(storage, metric="runs")
plt.show()

# %% [markdown]
# Tokens per session, and the tool error rate per day, straight from pandas:

# %%
messages = storage.messages_df()
tokens = messages.groupby("session_id")["total_tokens"].sum().sort_values()
ax = tokens.plot.barh(figsize=(6, 4), title="tokens per session", xlabel="")
ax.set_xlabel("total tokens")
plt.show()
tokens.sort_values(ascending=False).head(3)

# %%
tools = messages[messages["role"] == "tool"].assign(
    day=lambda df: df["created_at"].dt.strftime("%Y-%m-%d %a"),
    failed=lambda df: df["content"].str.startswith("error:"),
)
tools.groupby("day").agg(calls=("failed", "size"), failures=("failed", "sum"))
