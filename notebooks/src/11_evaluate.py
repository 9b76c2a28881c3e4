# %% [markdown]
# # 11 · Evaluate: label runs, turn labels into a dataset, compare two agents
#
# Looking at stored sessions is half of evaluating an agent; the other half is saying
# *this answer was good*, *this one was wrong, here is the right one*, keeping that
# judgement, and checking that a new version of the agent does better on the same
# questions. agno_nb does all three in the notebook, on your own database:
#
# 1. **Label runs** where you read them (the session browser's 👍 / 👎, "correct it", a note),
#    with `%agno_label`, or with `storage.label_run(...)`. Labels live in agno_nb's side
#    table `agno_nb_labels`: the sessions table is never changed.
# 2. **Export a dataset** of the good runs and the corrected ones (`export_jsonl`).
# 3. **Compare two agents** on that dataset (`agno_nb.evaluate.compare`), read the result,
#    and pick the better answers (stored as labels too).
#
# Everything runs offline with `OfflineModel` and `ScriptedModel`.

# %%
import os
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
for name in ("evaluate_11.db", "dataset_11.jsonl"):
    Path("tmp", name).unlink(missing_ok=True)
os.environ["AGNO_NB_USER"] = "reviewer"  # who labels (default: your login name)

# %% [markdown]
# ## Some answers to judge
#
# A support agent with one tool. The offline model answers order questions with the tool and
# echoes everything else, so two of its four answers are poor.

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import SqliteStorage

storage = SqliteStorage(table_name="support_sessions", db_file="tmp/evaluate_11.db")
ORDERS = {1001: "shipped", 1002: "delivered"}


def lookup_order(order_id: int) -> str:
    """The status of an order."""
    return f"order {order_id} is {ORDERS[order_id]}"


support = Agent(
    name="support v1", model=OfflineModel(), storage=storage, tools=[lookup_order]
)
for prompt in [
    "lookup_order order_id=1001",
    "Do you ship to Norway?",
    "lookup_order order_id=1002",
    "What are your opening hours?",
]:
    print(f"{prompt!r:32} -> {support.run(prompt).content}")

# %% [markdown]
# ## 1. Label runs in the browser
#
# Each run card in the session browser has 👍 / 👎, "correct it" (the right answer) and a
# note. With the card focused, the keys are `g` good, `b` bad, `c` correct, `n` note,
# `x` clear; Ctrl+Enter saves. The label shows on the card (a coloured edge and a line
# saying who labelled it), and the list shows each session's counts.
#
# In a live notebook you click; here the cell clicks the same buttons from Python.

# %%
from agno_nb.widgets import SessionBrowser

browser = SessionBrowser(storage)
cards = browser.history.label_bars  # one per run, oldest first
cards[0].good_button.click()

cards[1].correct_button.click()  # opens the box with the answer in it, to edit
cards[1].correction.value = "Yes: we ship to Norway in 3-5 working days."
cards[1].note.value = "echoed the question"
cards[1].save_button.click()
cards[1].bad_button.click()  # 👎 keeps the correction and the note

cards[2].good_button.click()
browser

# %% [markdown]
# ## ... or with `%agno_label`
#
# `%agno_label SESSION RUN good|bad [--score N] [--note TEXT] [--correction TEXT]`. RUN is
# the run id, the start of it that the transcript shows, or `#N` for the N-th run.

# %%
%load_ext agno_nb
%agno_storage sqlite tmp/evaluate_11.db --table support_sessions;

# %%
%agno_label {support.session_id} #4 bad --score 1 --correction "We are open 9:00-18:00, Monday to Saturday."

# %% [markdown]
# `%agno_sessions --label good|bad|unlabelled` (and the browser's label filter) selects
# sessions by their labels. The labels themselves are a DataFrame, one row per labelled run:

# %%
storage.labels_df()[["run_index", "rating", "score", "correction", "note", "labelled_by"]]

# %% [markdown]
# `labels_df()` joins `messages_df()` on `session_id` and `run_id`, for pandas work: here,
# the questions that got a bad answer.

# %%
joined = storage.messages_df().merge(storage.labels_df(), on=["session_id", "run_id"])
joined[(joined.role == "user") & (joined.rating == "bad")][["content", "correction"]]

# %% [markdown]
# ## 2. A dataset from the labels
#
# `export_jsonl(storage, path, rating="good")` writes the runs rated good as few-shot
# examples; `corrections=True` adds every corrected run, the correction as its final
# assistant message. The browser's export box has the same choice.

# %%
import json

from agno_nb.export import export_jsonl

count = export_jsonl(
    storage, "tmp/dataset_11.jsonl", rating="good", corrections=True, system=False
)
print(count, "examples")
for line in Path("tmp/dataset_11.jsonl").read_text().splitlines():
    messages = json.loads(line)["messages"]
    print(f"{messages[0]['content']!r:32} -> {messages[-1]['content']}")

# %% [markdown]
# ## 3. Compare two agents on the dataset
#
# Version 2 of the agent (a scripted model standing in for a better prompt or model) answers
# the same questions. `compare` runs every prompt through every agent, each in a fresh session
# of its own (no history leaks between prompts), marked as an evaluation session. The expected
# answer from the dataset is shown beside each prompt.

# %%
from agno_nb.evaluate import compare
from agno_nb.models import ScriptedModel
from agno_nb.models.base import ToolCall

support_v2 = Agent(
    name="support v2",
    storage=storage,
    tools=[lookup_order],
    model=ScriptedModel(
        [
            ToolCall(name="lookup_order", arguments={"order_id": 1001}),
            "Order 1001 has shipped.",
            "Yes: we ship to Norway in 3-5 working days.",
            ToolCall(name="lookup_order", arguments={"order_id": 1002}),
            "Order 1002 was delivered.",
            "We are open 9:00-18:00, Monday to Saturday.",
        ]
    ),
)
result = compare({"v1": support, "v2": support_v2}, "tmp/dataset_11.jsonl")

# %% [markdown]
# `result.df` has one row per prompt; per agent the answer, tokens, latency, tool calls (and
# the session and run ids). Latency is left out here because it changes on every run:

# %%
frame = result.df
frame[["prompt", "expected", "v1_answer", "v1_tokens", "v1_tool_calls", "v2_answer", "v2_tokens"]]

# %% [markdown]
# The widget shows the answers side by side, the words that differ from v1's answer
# highlighted. Pick the better answer per prompt: the picked run is labelled good, the other
# bad, both tagged with the comparison id. (A saved notebook shows the same table as static
# HTML.)

# %%
view = result.widget()
for row in range(len(result.rows)):
    view.pick_buttons[row][1].click()  # v2 is better on every prompt
view

# %% [markdown]
# The picks are ordinary labels, in the same table:

# %%
picked = storage.labels_df()
picked[picked.tags.apply(lambda tags: "compare" in tags)].groupby("rating").size()

# %% [markdown]
# The evaluation sessions stay out of the way: the browser's "hide evaluation" box (and
# `SessionBrowser(storage, hide_evaluation=True)`) leaves them out of the list.

# %%
print(storage.count_sessions(), "sessions in the table")
SessionBrowser(storage, hide_evaluation=True).total
