# %% [markdown]
# # 05 · Upgrading agno 1.x tables in place
#
# agno_nb reads and writes the tables agno 1.x creates, in their own layout, so an agno app
# and your notebook can share them. Its own layouts (v2 to v6, the latest) add summary
# columns, listing indexes, a table with one row per run and folded search text, which make
# listing, paging, searching and appending fast on large histories. Moving a table to the
# latest layout is an explicit, reviewable step:
#
# | layout | what it is |
# | --- | --- |
# | v0 | agno's older agent table (no `team_session_id`) |
# | v1 | agno 1.x's table: every run inside the `memory` JSON |
# | v2 | v1's columns + summary columns, newest-first indexes, `<table>_runs` |
# | v3 | v2 without agno's single-column indexes (fewer pages written per new session) |
# | v4 | v3 + the folded text search matches (`search_name`, runs' `search_text`) |
# | v5 | v4 with each run stored as `json` on Postgres, not `jsonb` (SQLite, DuckDB: unchanged) |
# | v6 | v5 + sessions of one millisecond listed in insertion order (`insert_seq` on Postgres, DuckDB; SQLite's rowid) |
#
# Here: two tables in the old layouts, a dry run, the upgrade, proof that every message
# survived, and `auto_upgrade_schema=True`.

# %%
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
Path("tmp/upgrades.db").unlink(missing_ok=True)

# %% [markdown]
# ## Two tables in agno 1.x's layouts
#
# `schema_version=` creates a table in an older layout (that is how you would share a new
# table with an agno 1.x app). An agent writes to an old table in its own layout.

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import SqliteStorage

DB = "tmp/upgrades.db"
v0 = SqliteStorage(table_name="chats_v0", db_file=DB, schema_version=0)
v1 = SqliteStorage(table_name="chats_v1", db_file=DB, schema_version=1)

PROMPTS = {
    "alice": ["My name is Alice.", "What is the capital of Peru?", "What is my name?"],
    "bob": ["What is 2 + 2?", "What was my last question?"],
    "carol": ["Hello <b>there</b> & good morning, naïve café 東京 🚀"],
}
for storage in (v0, v1):
    for number, (user, prompts) in enumerate(PROMPTS.items(), start=1):
        agent = Agent(
            model=OfflineModel(),
            agent_id="helper",
            user_id=user,
            session_id=f"s{number}-{user}",
            storage=storage,
            add_history_to_messages=True,
        )
        for prompt in prompts:
            agent.run(prompt)
    print(storage.table_name, "layout", storage.current_version, "-", storage.count_sessions(), "sessions")

# %% [markdown]
# The layouts differ in their columns. v0 lacks `team_session_id`; in both, the runs live
# inside the `memory` JSON column.

# %%
import sqlalchemy as sa


def columns(table: str) -> list[str]:
    with v1.db_engine.connect() as conn:
        return [row.name for row in conn.execute(sa.text(f"pragma table_info({table})"))]


for table in ("chats_v0", "chats_v1"):
    print(f"{table}: {', '.join(columns(table))}")

# %% [markdown]
# Before touching anything, a snapshot of every message in the v1 table, to compare with after
# the upgrade:

# %%
KEY = ["session_id", "run_index", "message_index"]
FIELDS = [*KEY, "user_id", "run_id", "role", "content", "created_at", "total_tokens"]
before = v1.messages_df()[FIELDS].sort_values(KEY, ignore_index=True)
print(len(before), "messages in", before["session_id"].nunique(), "sessions")

# %% [markdown]
# ## `%agno_upgrade --dry-run`: the plan, as SQL
#
# `%agno_storage` says the table is behind. The dry run lists each step and the SQL it would
# run, and changes nothing (in Python: `storage.upgrade_schema(dry_run=True)`; in a terminal:
# `agno-nb upgrade sqlite:///tmp/upgrades.db --table chats_v1 --dry-run`).

# %%
%load_ext agno_nb
legacy = %agno_storage sqlite tmp/upgrades.db --table chats_v1

# %%
%agno_upgrade --dry-run

# %% [markdown]
# ## The upgrade
#
# Each step runs in one transaction together with its version stamp: if it is interrupted, the
# table stays at the old layout and a rerun completes it.

# %%
%agno_upgrade

# %% [markdown]
# ## Proof: every message survived
#
# Reopen the table and compare all messages, field by field, with the snapshot.

# %%
import pandas as pd

upgraded = SqliteStorage(table_name="chats_v1", db_file=DB)
after = upgraded.messages_df()[FIELDS].sort_values(KEY, ignore_index=True)
pd.testing.assert_frame_equal(before, after)
print(f"layout v{upgraded.current_version}: all {len(after)} messages identical")
print("chats_v1:", ", ".join(columns("chats_v1")))
print("chats_v1_runs:", ", ".join(columns("chats_v1_runs")))

# %% [markdown]
# The text with markup, accents and emoji is unchanged too:

# %%
print(upgraded.get_runs("s3-carol")[0]["messages"][0]["content"])

# %% [markdown]
# ## `auto_upgrade_schema=True`
#
# For a table you own, let the storage upgrade on first use instead. (Leave it off while an
# agno 1.x app still writes to the table: that app expects its own layout.)

# %%
print("before:", SqliteStorage(table_name="chats_v0", db_file=DB).current_version)
auto = SqliteStorage(table_name="chats_v0", db_file=DB, auto_upgrade_schema=True)
print(auto.count_sessions(), "sessions; layout now", auto.current_version)
print(auto.upgrade_schema(dry_run=True))

# %% [markdown]
# After the upgrade, agents append runs in O(1) (one row in `chats_v0_runs`), and listing
# reads only the summary columns:

# %%
agent = Agent(model=OfflineModel(), session_id="s1-alice", storage=auto, add_history_to_messages=True)
agent.print_response("What is my name?")
[(s.session_id, s.user_id, s.run_count, s.preview) for s in auto.list_sessions()]
