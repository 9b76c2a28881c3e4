"""A secret sentinel: a password in a storage URL never shows up anywhere we produce.

Postgres runs with trust auth, so a URL carrying any password connects; the
sentinel is that password. Every magic and widget runs on such storages (and
on unreachable ones); their printed output, displayed outputs, return values,
reprs, HTML snapshots and error messages are all searched for it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from sqlalchemy.engine import make_url

from agno_nb.agent import Agent
from agno_nb.schema import LATEST_VERSION
from agno_nb.sessions import AgentSession

SENTINEL = "Sentinel-pw-7f3a9"


def pg_url(**parts: Any) -> str:
    base = os.environ.get(
        "AGNO_NB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    url = make_url(base).set(password=SENTINEL, **parts)
    return str(url.render_as_string(hide_password=False))


class Seen:
    """Everything a user could see, gathered as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, *items: Any) -> None:
        for item in items:
            self.texts.append(item if isinstance(item, str) else repr(item))
            if isinstance(item, BaseException):
                self.texts.append(str(item))
            for method in ("_repr_html_", "snapshot_html"):
                fn = getattr(item, method, None)
                if callable(fn):
                    self.texts.append(str(fn()))
            bundle = getattr(item, "_repr_mimebundle_", None)
            if callable(bundle):
                self.texts.extend(str(v) for v in (bundle() or {}).values())
            self._widget_values(item)

    def _widget_values(self, widget: Any) -> None:
        for name in ("value", "description", "placeholder", "tooltip", "options"):
            value = getattr(widget, name, None)
            if isinstance(value, str | tuple | list):
                self.texts.append(repr(value))
        for child in getattr(widget, "children", ()) or ():
            self._widget_values(child)

    def capture(self, cap: Any) -> None:
        self.texts += [cap.stdout, cap.stderr]
        for out in cap.outputs:
            self.texts.extend(str(v) for v in out.data.values())

    def check(self) -> None:
        assert self.texts, "nothing was collected"
        leaks = [t for t in self.texts if SENTINEL in t]
        assert not leaks, leaks[0][:500]


def run(ip: InteractiveShell, seen: Seen, code: str) -> Any:
    with capture_output() as cap:
        result = ip.run_cell(code)
    seen.capture(cap)
    if result.error_in_exec is not None:
        seen.add(result.error_in_exec)
    seen.add(result.result)
    if result.result is not None:  # the cell's result as the shell displays it
        shown, _ = ip.display_formatter.format(result.result)
        seen.texts.extend(str(v) for v in shown.values())
    return result.result


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("form", ["postgres {url}", "{url}"])
def test_password_never_shown_by_magics_and_widgets(
    backend: str, form: str, pg_schema: str, ip: InteractiveShell, magics: Any, tmp_path: Any
) -> None:
    from agno_nb.storage import PostgresStorage
    from agno_nb.widgets import SessionBrowser, SessionHistory, UpgradePanel

    url = pg_url()
    table = f"secret_{abs(hash(form)) % 10_000}_{os.getpid()}"
    legacy = PostgresStorage(table, db_url=url, schema=pg_schema, schema_version=1)
    legacy.upsert(
        AgentSession(
            session_id="old",
            user_id="alice",
            memory={"runs": [{"run_id": "r0", "messages": [{"role": "user", "content": "hi"}]}]},
        )
    )
    seen = Seen()
    seen.add(legacy)
    ip.user_ns["bot"] = Agent(name="bot", user_id="alice")
    line = form.format(url=url) + f" --schema {pg_schema} --table {table}"
    storage = run(ip, seen, f"%agno_storage {line}")
    assert storage is not None and storage.table_name == table
    assert "upgrade available" in "".join(seen.texts)
    run(ip, seen, "%agno_storage")
    run(ip, seen, "%agno_storage --list")
    run(ip, seen, "%agno_upgrade --dry-run")
    run(ip, seen, "%agno_upgrade")
    assert storage.current_version == LATEST_VERSION
    run(ip, seen, "%%agno_chat\nhello there")
    run(ip, seen, "%%agno_chat bot\nwhat was my last question?")
    df = run(ip, seen, "%agno_sessions")
    seen.add(df.to_string(), df.to_html())
    run(ip, seen, "%agno_history")
    run(ip, seen, "%agno_history old --static")
    run(ip, seen, "%agno_history nope")
    run(ip, seen, "%agno_sessions --limit 0")
    run(ip, seen, f"%agno_storage {url} --bogus")
    run(ip, seen, f"%agno_storage postgres {url} {url}")
    run(ip, seen, f"%agno_storage sqlite {url}")
    run(ip, seen, f"%agno_storage {url} extra")
    run(ip, seen, f"%agno_storage {url} --table 'x; drop table y'")
    run(ip, seen, f"%agno_storage {pg_url(database='agno_nb_no_such_db')}")
    seen.add(ip.user_ns["bot"], storage)

    browser = SessionBrowser(storage, page_size=1)
    browser.rename_button.click()  # error line: no name typed
    browser.delete_button.click()  # confirmation line
    browser.export_path.value = str(tmp_path / "x.jsonl")
    browser.export_filtered_button.click()
    browser.next_button.click()
    seen.add(browser, SessionHistory(storage, "old"), UpgradePanel(storage))
    # the database goes away under an open widget: the error line stays masked
    browser.storage = PostgresStorage(table, db_url=pg_url(port=1), schema=pg_schema)
    browser.refresh_button.click()
    assert "agno-nb-error" in browser.status.value
    seen.add(browser)
    run(ip, seen, f"%agno_storage --close {storage.backend}")
    everything = "".join(seen.texts)
    # the collection really holds what was shown: masked URLs, answers, errors
    for expected in (
        "postgres:***@",
        "attached to bot",
        "You said: hello there",
        "session migrated",  # "1 session migrated"
        "no session 'nope'",
        "a URL takes no TARGET",
        "agno_nb_no_such_db",
        "cannot reach",
    ):
        assert expected in everything, expected
    seen.check()


def test_sentinel_check_catches_a_leak() -> None:
    seen = Seen()
    seen.add(RuntimeError(f"failed for {pg_url()}"))
    with pytest.raises(AssertionError):
        seen.check()


UNREACHABLE = [
    "{down}",
    "postgres {down}",
    "postgres {down} --read-only",
    "postgres {down} --schema ai --table t",
    "foo://postgres:{pw}@127.0.0.1/db",
    "postgresql+psycopg://postgres@127.0.0.1:1/test?password={pw}",
    "{down} --bogus",
    "postgres {down} {down}",
    "duckdb {down}",
    "'{down}",
]


@pytest.mark.parametrize("line", UNREACHABLE)
def test_password_never_in_errors(line: str, ip: InteractiveShell, magics: Any) -> None:
    text = line.format(down=pg_url(port=1), pw=SENTINEL)
    assert SENTINEL in text
    seen = Seen()
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("agno_storage", text.removeprefix("%agno_storage "))
    seen.add(info.value)
    assert "\n" not in str(info.value)
    run(ip, seen, f"%agno_storage {text}")
    assert any("UsageError" in t for t in seen.texts)
    seen.check()


def test_password_never_in_widget_errors_on_unreachable_storage() -> None:
    from agno_nb.errors import AgnoNbError
    from agno_nb.storage import PostgresStorage
    from agno_nb.widgets import SessionBrowser, SessionHistory, UpgradePanel

    storage = PostgresStorage("t", db_url=pg_url(port=1))
    seen = Seen()
    seen.add(storage)
    for build in (
        lambda: SessionBrowser(storage),
        lambda: SessionHistory(storage, "x"),
        lambda: UpgradePanel(storage),
    ):
        with pytest.raises(AgnoNbError) as info:
            build()
        seen.add(info.value)
    seen.check()
