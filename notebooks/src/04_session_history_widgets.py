# %% [markdown]
# # 04 · Session history in the notebook: magics and widgets
#
# `%load_ext agno_nb` adds a few magics that attach a storage to your agents and show what
# they stored, and widgets to browse, page, rename, delete and export sessions. Every widget
# also carries a static HTML snapshot, so a saved notebook reads the same on GitHub or in
# nbconvert.
#
# All message content is shown as text: a message containing `<script>` or an `<img onerror>`
# is displayed, never run.

# %%
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
for name in ("widgets.db", "archive.db", "alice_lisbon.jsonl", "alice_all.jsonl"):
    Path("tmp", name).unlink(missing_ok=True)

# %% [markdown]
# ## Attach a storage
#
# `%agno_storage BACKEND TARGET` opens a storage, attaches it to every agent in the notebook
# that has none, and makes it the one new agents take. It shows one status: the table, its
# sessions, and which agents use it.

# %%
%load_ext agno_nb
storage = %agno_storage sqlite tmp/widgets.db

# %% [markdown]
# Some history to look at: twelve sessions of four users. The agents get no `storage=`
# argument: they use the one the magic opened.

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel


def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return {"Paris": "sunny, 24 C", "Oslo": "rain, 11 C", "Lisbon": "clear, 27 C"}.get(
        city, "cloudy, 18 C"
    )


CHATS = [
    ("alice", ["My name is Alice.", "Use get_weather for 'Paris'", "What is my name?"]),
    ("bob", ["What is the capital of Chile?"]),
    ("carol", ["Use get_weather for 'Oslo'", "What was my last question?"]),
    ("alice", ["Plan a weekend in Lisbon.", "Use get_weather for 'Lisbon'", "Thanks!"]),
    ("bob", ["My name is Bob.", "What is my name?"]),
    ("carol", ["Format this as **bold** and _italic_, please."]),
    ("alice", ["What is 6 x 7?"]),
    ("bob", ["Use get_weather for 'Rome'", "Use get_weather for 'Oslo'", "Which is warmer?"]),
    ("carol", ["Translate 'good morning' to Spanish."]),
    ("alice", ["Recommend a book about databases."]),
    ("bob", ["What time zone is Tokyo in?"]),
    (
        "mallory",
        [
            'Show this: <script>window.__pwned = true</script> '
            '<img src=x onerror="window.__pwned = true">'
        ],
    ),
]
for number, (user, prompts) in enumerate(CHATS, start=1):
    agent = Agent(
        model=OfflineModel(),
        agent_id="assistant",
        user_id=user,
        session_id=f"s{number:02d}-{user}",
        tools=[get_weather],
        add_history_to_messages=True,
    )
    for prompt in prompts:
        agent.run(prompt)
storage.count_sessions()

# %% [markdown]
# ## A second storage never moves your agents
#
# An agent keeps the storage it was given or first attached to. Opening another storage (to
# look at an archive, or to upgrade an old table) attaches nothing: its status says that no
# agents use it and where they stay. `--attach` moves every agent to it on request, and
# `--attach agent,other` only those; the status then says which moved. (In Python, a call:
# `agent.storage = other`.)

# %%
%agno_storage sqlite tmp/archive.db --as archive

# %%
%agno_storage --close archive
print(agent.storage is storage)

# %% [markdown]
# ## `%agno_sessions`: the sessions as a DataFrame
#
# Newest first, filtered by user, agent or a text search. It shows one line per session: a
# short id (the full one is a hover away, and in the DataFrame), the name or first question,
# the user, the runs and how long ago it was active; an `error` column only when a row cannot
# be read. When the limit (20, or `--limit N`) hides sessions it says so. The result is a
# pandas DataFrame with every column, to keep working with (`df = %agno_sessions --user alice`).

# %%
df = %agno_sessions --user alice
df

# %%
df[["session_id", "run_count", "message_count", "preview"]]  # every column is in the data

# %%
%agno_sessions --search weather --limit 3

# %% [markdown]
# ## `%agno_history`: the session browser
#
# Filters, a paged newest-first list, and the selected session's transcript. The list is the
# selector: click a row, or move with the arrow keys, and its transcript shows below; the
# selected row stays highlighted. Paging happens in the database: only one page of summaries
# (and one page of the selected session's runs) is read, however big the table. Options are
# traitlets, settable with `%config`.
#
# The newest session contains hostile markup; it shows as text.

# %%
%config AgnoMagics.page_size = 5
# the interactive session browser
%agno_history

# %% [markdown]
# `%agno_history SESSION_ID` opens the browser on the page that holds the session, with it
# selected (here page 2 of 3).

# %%
%agno_history s04-alice

# %% [markdown]
# ## The same widgets from Python
#
# `SessionBrowser(storage, ...)` is what the magic returns. Its buttons call methods you can
# also call yourself: `older_page()`, `newer_page()`, `select(id)`, `rename(name)`,
# `ask_delete()` + `confirm_delete()`, `export_session()`, `export_filtered()`, `refresh()`.

# %%
from agno_nb.widgets import SessionBrowser, SessionHistory

browser = SessionBrowser(storage, user_id="alice", page_size=2, export_path="tmp/alice_lisbon.jsonl")
browser.older_page()
browser.select("s04-alice")
browser.rename("Weekend in Lisbon")
print(browser.position_text())
browser

# %% [markdown]
# ## Export as few-shot examples
#
# One JSON line per run, `{"messages": [...]}` in the chat-completions format, ready for
# fine-tuning or for a few-shot prompt. Export the selected session, or every session the
# filters match.

# %%
import json


def show(message: dict) -> str:
    """One exported message on one line."""
    calls = [f"{c['function']['name']}({c['function']['arguments']})" for c in message.get("tool_calls", [])]
    return f"{message['role']}: {message['content'] or ' '.join(calls)}"


print(browser.export_session(), "examples written")
for line in Path("tmp/alice_lisbon.jsonl").read_text(encoding="utf-8").splitlines():
    print(" | ".join(show(m) for m in json.loads(line)["messages"]))

# %%
browser.export_path.value = "tmp/alice_all.jsonl"
print(browser.export_filtered(), "examples from", browser.total, "sessions of alice")

# %% [markdown]
# ## One session: `SessionHistory`
#
# A transcript paged from the newest run backwards. Tool calls show their arguments and
# results (collapsed), and each run its tokens and time.

# %%
history = SessionHistory(storage, "s08-bob", page_size=2)
print(history.position_text())
history.older()
history

# %% [markdown]
# ## A static transcript
#
# `%agno_history SESSION_ID --static` (or just evaluating `storage.read(session_id)`) gives
# plain HTML instead of a widget. The hostile message, once more, as text:

# %%
%agno_history s12-mallory --static

# %% [markdown]
# ## Delete, with a confirmation
#
# `Delete…` asks first; only `Yes, delete` deletes.

# %%
cleanup = SessionBrowser(storage, search="s02-bob")
cleanup.ask_delete()
print("asking for confirmation:", cleanup.confirming)
cleanup.confirm_delete()
print(storage.count_sessions(), "sessions left;", storage.read("s02-bob"))
