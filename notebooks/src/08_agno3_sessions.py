# %% [markdown]
# # 08 · Sessions agno 2.x / 3.x wrote, opened in place
#
# Most agno apps today keep their sessions with agno 2.x or 3.x's `agno.db`
# (`SqliteDb`, `PostgresDb`): a table `agno_sessions` and, from agno 3.x, a runs table
# `agno_runs`. agno_nb opens those tables as they are, without converting anything:
# listings, transcripts, widgets, DataFrames and exports all work, and agno keeps
# using its database.
#
# This recipe uses a copy of a database agno 3.1.10 wrote itself (an agent with a tool,
# a team, unicode, a 60-run session), shipped with agno_nb's tests. Point it at your
# own `tmp/agno.db` (or a `postgresql+psycopg://...` URL, schema `ai`) instead.
#
# One oddity is the fixture's, not agno's or agno_nb's: after agno wrote it, its
# sessions' `created_at`/`updated_at` were set to distinct times in June 2025 (agno
# stamps whole seconds, and they were all written within one), while their runs keep
# the time agno stamped them. So below, runs dated later than 2025 sit inside sessions
# "last active 2025"; in your own database the two agree.

# %%
import shutil
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
shutil.copy("../tests/fixtures/agno_3_1_10_sessions.db", "tmp/agno3.db")
for leftover in ("tmp/agno3.db-wal", "tmp/agno3.db-shm"):
    Path(leftover).unlink(missing_ok=True)

# %% [markdown]
# ## Open it
#
# Name no table and agno_nb looks for its own `agent_sessions`; a database that only
# has agno's `agno_sessions` opens that one, and says so. `--table agno_sessions`
# (or `table_name="agno_sessions"`) names it outright.

# %%
%load_ext agno_nb
storage = %agno_storage sqlite tmp/agno3.db

# %% [markdown]
# The same from Python. `mode` picks agno's `session_type`: `agent` (the default),
# `team` or `workflow`.

# %%
from agno_nb.storage import SqliteStorage

teams = SqliteStorage(table_name="agno_sessions", db_file="tmp/agno3.db", mode="team")
print(storage.layout_label)
print(storage.count_sessions(), "agent sessions,", teams.count_sessions(), "team session")

# %% [markdown]
# ## Browse
#
# `%agno_sessions` lists a page of sessions, counted by the database (only each
# session's first run is decoded, for its first question).

# %%
%agno_sessions --limit 5

# %%
%agno_sessions --search zürich

# %% [markdown]
# `%agno_history` opens the browser on the newest session; `--static` prints one
# transcript. Prompts stay text: the `<script>` a user typed is shown, never run.

# %%
%agno_history s-html --static

# %%
%agno_history s-tool --static

# %% [markdown]
# ## A long session, one page at a time
#
# agno 3.x keeps one row per run, so a page of a long session is read with
# `LIMIT`/`OFFSET`: the 60 runs of `s-long` are never decoded to show 5.

# %%
before = storage.stats.rows
page = storage.get_runs("s-long", limit=5, newest_first=True)
print([run["input"]["input_content"] for run in page])
print(storage.count_runs("s-long"), "runs;", storage.stats.rows - before, "rows read for this page")

# %%
from agno_nb.widgets import SessionHistory

SessionHistory(storage, "s-long", page_size=5)

# %% [markdown]
# ## Analyse
#
# The DataFrames and helpers read agno's runs like agno_nb's own: tokens come from
# agno's metrics, tool calls from its messages.

# %%
storage.sessions_df()[["session_id", "user_id", "session_name", "run_count", "message_count"]]

# %%
messages = storage.messages_df()
tools = messages[messages["role"] == "tool"]
print(messages.groupby("role").size().to_dict())
print("tools used:", tools["tool_name"].value_counts().to_dict())
print("output tokens per user:", messages.groupby("user_id")["output_tokens"].sum().to_dict())

# %%
from agno_nb.export import export_jsonl

print(export_jsonl(storage, "tmp/agno3_few_shot.jsonl"), "runs exported as few-shot examples")

# %% [markdown]
# ## Rename and delete, the way agno does
#
# A rename writes `session_data.session_name` (agno reads it back as the session's
# name) and keeps the row's JSON encoding; a delete removes the session and its runs.
# Other writes are agno's job, and agno_nb says so in one line.

# %%
storage.rename_session("s-unicode", "Grüße aus Zürich")
storage.delete_session("s-first-only")
print(storage.read("s-unicode").session_name, "|", storage.count_sessions(), "agent sessions left")

# %%
from agno_nb.errors import AgnoNbError

try:
    storage.upgrade_schema()
except AgnoNbError as exc:
    print(exc)

# %%
teams.close()
%agno_storage --close sqlite
