"""End to end in a real browser: labelling runs and picking answers in notebook 11.

JupyterLab (127.0.0.1, free port, random token, a temporary folder with a copy of
``11_evaluate.ipynb`` whose outputs are cleared) is opened by headless Debian
Chromium through Playwright; every cell runs, then the test clicks the live
widgets as a user would: 👍 on a run card, the ``b`` key on it, "correct it" with
a typed correction and Save, and "v1 is better" in the compare widget. It checks
what the page shows (the label on the card, the counts in the list, the picked
answer outlined) and what the database holds afterwards. Screenshots go to
``test-artifacts/`` (ignored by git).

Without Chromium (or Playwright) the test skips with the reason; with
``AGNO_NB_REQUIRE_BROWSER=1`` it fails instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jupyterlab import ARTIFACTS, chromium_page, copy_notebook, open_and_run_all, running_lab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "11_evaluate.ipynb"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """JupyterLab serving a fresh copy of notebook 11; yields (URL, log, notebook folder)."""
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    copy_notebook(NOTEBOOK, workdir)
    with running_lab(tmp_path, workdir, NOTEBOOK.name) as (url, log):
        yield url, log, workdir


def test_label_buttons_and_compare_widget_in_jupyterlab(lab: tuple[str, Path, Path]) -> None:
    url, log, workdir = lab
    with chromium_page(1280, 2200, "e2e_evaluate_failure.png") as page:
        from playwright.sync_api import expect

        open_and_run_all(page, url, log)

        # -- the session browser: label bars under the run cards ----------------------
        cell = page.locator(".jp-CodeCell").filter(has_text="browser = SessionBrowser(storage)")
        expect(cell).to_have_count(1)
        output = cell.locator(".jp-OutputArea-output")
        bars = output.locator(".agno-nb-labelbar")
        expect(bars).to_have_count(4)
        cards = output.locator(".agno-nb-run")
        expect(cards).to_have_count(4)
        # what the cell's own clicks stored shows on the cards already
        expect(output.locator(".agno-nb-label .agno-nb-good").first).to_be_visible()
        expect(output).to_contain_text("correction: Yes: we ship to Norway")
        listbox = output.get_by_role("listbox", name="sessions")
        # the browser is live: it also counts the run the %agno_label cell below
        # labelled bad after it was shown (run #4)
        expect(listbox).to_contain_text("✓2 ✗2")
        last = bars.nth(3)
        last.scroll_into_view_if_needed()

        # a click on 👍 labels run #4 good: the card says so, the list counts it
        last.get_by_role("button", name="good").click()
        expect(output).to_contain_text("run #4: good")
        expect(listbox).to_contain_text("✓3 ✗1")
        # the keyboard: focus the bar, press b
        last.press("b")
        expect(output).to_contain_text("run #4: bad")
        expect(listbox).to_contain_text("✓2 ✗2")
        # correct it: type the right answer, save with the button
        last.get_by_role("button", name="correct it", exact=True).click()
        box = last.locator("textarea")
        expect(box).to_be_visible()
        box.fill("Open 9:00-18:00, Monday to Saturday (closed Sundays).")
        last.get_by_role("button", name="Save", exact=True).click()
        expect(output).to_contain_text("run #4: saved")
        expect(output).to_contain_text("correction: Open 9:00-18:00, Monday to Saturday")
        edge = cards.nth(3).evaluate("e => getComputedStyle(e).borderLeftColor")
        plain = cards.nth(0).evaluate("e => getComputedStyle(e).borderLeftColor")
        assert edge != plain, (edge, plain)  # bad (red) vs good (green)
        cards.nth(3).scroll_into_view_if_needed()
        output.screenshot(path=str(ARTIFACTS / "e2e_label_browser.png"))

        # -- the compare widget ----------------------------------------------------------
        view_cell = page.locator(".jp-CodeCell").filter(has_text="view = result.widget()")
        expect(view_cell).to_have_count(1)
        view = view_cell.locator(".jp-OutputArea-output")
        pick = view.get_by_role("button", name="v1 is better", exact=True)
        expect(pick).to_have_count(4)
        tables = view.locator("table.agno-nb-cmp")
        expect(tables).to_have_count(4)
        expect(tables.nth(0)).to_contain_text("expected:")
        expect(view.locator("ins").first).to_be_visible()  # differences highlighted
        pick.nth(0).click()
        expect(view).to_contain_text("prompt 1: v1 picked (stored as labels)")
        picked_cell = tables.nth(0).locator("td.agno-nb-picked")
        expect(picked_cell).to_have_count(1)
        expect(picked_cell).to_contain_text("lookup_order returned")
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(ARTIFACTS / "e2e_compare_widget.png"))
        page.screenshot(path=str(ARTIFACTS / "e2e_evaluate_notebook.png"), full_page=True)

    # what the clicks stored, read back by another process (this one)
    from agno_nb.storage import SqliteStorage

    storage = SqliteStorage("support_sessions", db_file=workdir / "tmp" / "evaluate_11.db")
    try:
        labels = {(x.run_index, x.rating, x.correction) for x in storage.labels()}
        assert (3, "bad", "Open 9:00-18:00, Monday to Saturday (closed Sundays).") in labels
        picks = {}
        for label in storage.labels():
            if "compare" in label.tags:
                name = storage.get_summary(label.session_id).session_name
                picks[name.split(":")[0]] = label.rating
        assert len(picks) == 8
        assert (picks["[eval] v1 #1"], picks["[eval] v2 #1"]) == ("good", "bad")  # the click
        assert (picks["[eval] v1 #2"], picks["[eval] v2 #2"]) == ("bad", "good")
    finally:
        storage.close()
