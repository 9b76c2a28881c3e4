# %% [markdown]
# # 09 · Moving agno 1.x sessions to agno 3.x
#
# agno 3.x keeps sessions in new tables: `agno_sessions` (one row per session) and
# `agno_runs` (one row per run), with `agno_schema_versions` saying which schema they have.
# Before an agno 1.x app can upgrade agno, its session tables have to move there.
# `agno-nb migrate` (and `%agno_migrate`, and `agno_nb.agno3.migrate()`) does that without
# losing a message:
#
# - a **dry run** first: the tables it would create (with their SQL), the sessions and runs
#   it would move, and conflicts already in the target;
# - batches in primary-key order, each one transaction with a record of how far it got, so
#   an interrupted migration resumes and a rerun never duplicates anything;
# - a rerun brings changed sessions up to date (migrate while the app runs, sync at cutover);
# - at the end, sessions, runs and messages are counted on both sides and compared.
#
# The tables are exactly the ones agno 3.1.10 creates, and the tests prove the result by
# letting agno 3.1.10's own `SqliteDb`, `PostgresDb` and `Agent` read it back.

# %%
from pathlib import Path

Path("tmp").mkdir(exist_ok=True)
Path("tmp/migrate.db").unlink(missing_ok=True)

# %% [markdown]
# ## An agno 1.x table
#
# `schema_version=1` creates exactly agno 1.x's agent table (every run inside the `memory`
# JSON column), and agents write to it as an agno 1.x app would.

# %%
from agno_nb import Agent
from agno_nb.models import OfflineModel
from agno_nb.storage import SqliteStorage

storage = SqliteStorage(table_name="chats", db_file="tmp/migrate.db", schema_version=1)
PROMPTS = {
    "alice": ["My name is Alice.", "What is the capital of Peru?", "What is my name?"],
    "bob": ["What is 2 + 2?", "What was my last question?"],
    "carol": ["Hello <b>there</b> & good morning, naïve café 東京 🚀"],
}
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
storage.rename_session("s1-alice", "Alice's trip")
print(storage.table_name, "layout", storage.current_version, "-", storage.count_sessions(), "sessions")

# %% [markdown]
# ## Before: the session as agno_nb reads it
#
# `%agno_storage` opens the agno 1.x table; `%agno_history --static` shows one session as a
# transcript (the same view is shown below for agno 3.x's tables after the migration).

# %%
%load_ext agno_nb
%agno_storage sqlite tmp/migrate.db --table chats

# %%
%agno_history s1-alice --static

# %%
before = storage.read("s1-alice")
print(before.session_name, "-", len(before.runs), "runs,", len(before.messages()), "messages")

# %% [markdown]
# ## `%agno_migrate --dry-run`: the plan, and nothing written
#
# Without a URL the magic migrates the open storage's table; the target is the same database
# (as agno's own migration does; `--target URL` picks another, and on Postgres the tables go
# to the schema `ai`, `PostgresDb`'s default, unless `--target-schema` says otherwise).

# %%
%agno_migrate --dry-run

# %% [markdown]
# ## The migration, with progress and the report
#
# The progress bar moves batch by batch; the report ends with the verification: what the
# target holds, counted per session.

# %%
report = %agno_migrate
report

# %% [markdown]
# A rerun is a no-op: every session is unchanged since it was moved.

# %%
again = %agno_migrate
print(again)

# %% [markdown]
# The app kept writing to its agno 1.x table (Bob asks one more question): the next run
# moves only that session again, with its new run.

# %%
bob = Agent(
    model=OfflineModel(),
    agent_id="helper",
    user_id="bob",
    session_id="s2-bob",
    storage=storage,
    add_history_to_messages=True,
)
bob.run("And what is 3 + 3?")
synced = %agno_migrate
print(synced.tables[0].new, "new,", synced.tables[0].resynced, "changed,", synced.tables[0].unchanged, "unchanged")

# %% [markdown]
# ## After: the same session in agno 3.x's tables
#
# agno_nb reads agno 3.x's tables too: open `agno_sessions` (its runs come from `agno_runs`,
# in `run_index` order) and show the same session. The copies of earlier messages that
# agno 1.x kept in later runs moved along, still marked `from_history`, so the transcript,
# the listing's counts and first question are the same as before.

# %%
%agno_storage sqlite tmp/migrate.db --table agno_sessions

# %%
%agno_history s1-alice --static

# %%
%agno_sessions

# %% [markdown]
# Every run, question, answer and message agno_nb read before is there, in the same order
# (`open_storage` is the same reader from Python):

# %%
from agno_nb.storage import open_storage

migrated = open_storage("sqlite:///tmp/migrate.db", table_name="agno_sessions")
after = migrated.read("s1-alice")
assert after.session_name == before.session_name
assert [r.run_id for r in after.runs] == [r.run_id for r in before.runs]
assert [(r.user_message.text, r.content) for r in after.runs] == [
    (r.user_message.text, r.content) for r in before.runs
]
assert [(m.role, m.text) for m in after.messages()] == [(m.role, m.text) for m in before.messages()]
for run in migrated.get_runs("s1-alice"):
    print(f"{run['status']:>9}: {run['input']['input_content']!r} -> {run['content']!r}")
print(len(after.messages()), "messages, identical")
migrated.close()

# %% [markdown]
# ## The same from Python or a terminal
#
# ```python
# from agno_nb.agno3 import migrate
#
# plan = migrate("sqlite:///tmp/migrate.db", tables=["chats"], dry_run=True)
# report = migrate("postgresql+psycopg://ai:ai@localhost:5532/ai", tables=["agent_sessions", "team_sessions"])
# ```
#
# ```bash
# agno-nb migrate tmp/migrate.db --table chats --dry-run
# agno-nb migrate postgresql+psycopg://ai:ai@localhost:5532/ai --schema ai --table agent_sessions --skip-bad
# ```
#
# A row that cannot be converted stops the run with one line naming the session
# (`--skip-bad` lists it in the report instead); a session already in the target that did
# not come from this migration is never overwritten (the report lists it as a conflict);
# a verification difference is an error (exit code 2).

# %%
from agno_nb.agno3 import migrate

print(migrate("sqlite:///tmp/migrate.db", tables=["chats"], dry_run=True).tables[0].unchanged, "sessions already moved")
