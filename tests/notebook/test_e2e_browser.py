"""End to end in a real browser: the session browser of the cookbook's notebook 04.

JupyterLab runs on 127.0.0.1 (free port, random token, a temporary notebook folder
with a copy of ``04_session_history_widgets.ipynb`` whose outputs are cleared),
headless Chromium from Debian's package opens it through Playwright (never a
downloaded browser), runs every cell, and checks the live widget: the expected
sessions and transcript, clicking a row and moving with the arrow keys (the row
is highlighted, its transcript shows), paging, ``%agno_history ID`` opening on
the page that holds the session, and that a message holding ``<script>`` and
``<img onerror>`` is shown as text and runs nothing. Screenshots go to
``test-artifacts/`` (ignored by git).

Without Chromium (or Playwright) the test skips with the reason; with
``AGNO_NB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it fails instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jupyterlab import ARTIFACTS, chromium_page, copy_notebook, open_and_run_all, running_lab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "04_session_history_widgets.ipynb"
MARKER = "the interactive session browser"  # a comment in the %agno_history cell


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab serving a folder with a fresh copy of notebook 04; yields (URL, log)."""
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    copy_notebook(NOTEBOOK, workdir)
    with running_lab(tmp_path, workdir, NOTEBOOK.name) as lab:
        yield lab


def test_session_browser_in_jupyterlab(lab: tuple[str, Path]) -> None:
    url, log = lab
    with chromium_page(1280, 1000, "e2e_failure.png") as page:
        from playwright.sync_api import expect

        cells = open_and_run_all(page, url, log)
        assert [c["count"] for c in cells] == list(range(1, len(cells) + 1))

        cell = page.locator(".jp-CodeCell").filter(has_text=MARKER)
        expect(cell).to_have_count(1)
        output = cell.locator(".jp-OutputArea-output")
        cell.scroll_into_view_if_needed()

        # The live widget (not the static snapshot): its list and buttons are there.
        older = output.get_by_role("button", name="Older ▶", exact=True)
        expect(older).to_be_visible()
        # The browser is live (issue 19): later cells already deleted a session.
        expect(output).to_contain_text("sessions 1-5 of 11, newest first (page 1 of 3)")
        listbox = output.get_by_role("listbox", name="sessions")
        expect(listbox).to_have_count(1)
        rows = listbox.get_by_role("option")
        expect(rows).to_have_count(5)
        for question in ("Show this: <script>", "What time zone is Tokyo in?", "databases"):
            expect(listbox).to_contain_text(question)
        expect(listbox).not_to_contain_text("What is 6 x 7?")  # page 2
        # One line per session (nothing wraps, however long the question), no ids in it.
        heights = rows.evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")
        assert max(heights) < 1.5 * min(heights), heights
        for text in rows.all_inner_texts():
            assert "s12-mallory" not in text, text

        # The newest session is selected: its hostile message shows as text, runs nothing.
        checked = listbox.locator('[aria-selected="true"]')  # the highlighted row
        expect(checked).to_have_count(1)
        expect(checked).to_contain_text("Show this: <script>")
        transcript = output.locator(".agno-nb-run")
        hostile = '<script>window.__pwned = true</script> <img src=x onerror="window.__pwned'
        expect(transcript.first).to_contain_text(f"Show this: {hostile}")
        assert page.evaluate("() => typeof window.__pwned") == "undefined"
        assert page.locator('img[src="x"]').count() == 0
        assert page.locator("script", has_text="__pwned").count() == 0
        output.screenshot(path=str(ARTIFACTS / "e2e_session_browser_page1.png"))

        # The export file box shows the whole default file name.
        sizes = output.locator("input").evaluate_all(
            "els => els.filter(e => e.value === 'agno_sessions.jsonl')"
            ".map(e => [e.scrollWidth, e.clientWidth])"
        )
        assert len(sizes) == 1 and sizes[0][0] <= sizes[0][1], sizes

        # Clicking a row selects it, highlights it and shows its transcript.
        rows.filter(has_text="Recommend a book about databases.").click()
        expect(checked).to_contain_text("Recommend a book about databases.")
        expect(transcript.first).to_contain_text("Recommend a book about databases.")
        expect(transcript.first).not_to_contain_text("window.__pwned")
        expect(output).to_contain_text("s10-alice")  # the full id, in the transcript header
        background = checked.evaluate("o => getComputedStyle(o).backgroundColor")
        plain = rows.nth(0).evaluate("o => getComputedStyle(o).backgroundColor")
        assert background != plain, (background, plain)

        # The arrow keys move the selection, and the transcript follows.
        listbox.press("ArrowDown")
        expect(checked).to_contain_text("Translate 'good morning' to Spanish.")
        expect(transcript.first).to_contain_text("Translate 'good morning' to Spanish.")

        # Paging happens in the kernel (later cells renamed and deleted sessions).
        older.click()
        expect(output).to_contain_text("sessions 6-10 of 11, newest first (page 2 of 3)")
        expect(listbox).to_contain_text("Weekend in Lisbon")
        expect(listbox).not_to_contain_text("Show this")

        rows.filter(has_text="Weekend in Lisbon").click()
        expect(checked).to_contain_text("Weekend in Lisbon")
        expect(output).to_contain_text("Plan a weekend in Lisbon.")
        expect(output).to_contain_text("get_weather returned: clear, 27 C")
        expect(transcript.first).not_to_contain_text("window.__pwned")
        assert page.evaluate("() => typeof window.__pwned") == "undefined"

        # %agno_history SESSION_ID opens on the page that holds it, with it selected.
        opened = page.locator(".jp-CodeCell").filter(has_text="%agno_history s04-alice")
        expect(opened).to_have_count(1)
        opened_out = opened.locator(".jp-OutputArea-output")
        expect(opened_out).to_contain_text("(page 2 of 3)")
        opened_row = opened_out.locator('[role="option"][aria-selected="true"]')
        expect(opened_row).to_contain_text("Weekend in Lisbon")  # renamed later: live
        expect(opened_out).to_contain_text("s04-alice")

        output.screenshot(path=str(ARTIFACTS / "e2e_session_browser.png"))
        page.screenshot(path=str(ARTIFACTS / "e2e_notebook.png"), full_page=True)
