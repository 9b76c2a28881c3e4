"""End to end in JupyterLab: the live session browser on an agno 3.1.10 team run.

A temporary notebook makes an agno 3 member agent and team (offline fake model),
opens ``%agno_storage`` (the team gets agno's own SqliteDb), runs the team, opens
``%agno_history``, then runs the team again in a later cell. Headless Chromium
(Debian's, through Playwright) runs every cell and checks the live widget, not a
snapshot: the second run shows without any click on Refresh, the member run sits
nested under the team's run, tool calls open to their arguments and results, and the
run headers carry tokens and times. With agno's tracing available in the kernel
(``openinference-instrumentation-agno``), the runs also show their trace timeline.

Screenshots go to ``test-artifacts/agno3_live_*.png`` (ignored by git).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from tests.jupyterlab import ARTIFACTS, chromium_page, open_and_run_all, running_lab

ROOT = Path(__file__).resolve().parents[2]
MARKER = "the live browser"

CELLS = [
    f"""import os, sys, importlib.util
os.environ["AGNO_TELEMETRY"] = "false"
sys.path.insert(0, {str(ROOT)!r})
from agno.agent import Agent
from agno.team import Team
from tests.agno3_fixtures import add, fake_model_class, AGENT_ID
FakeModel = fake_model_class()
calc = Agent(model=FakeModel(), id=AGENT_ID, name="calculator", tools=[add], telemetry=False)""",
    "%load_ext agno_nb\n%agno_storage sqlite live.db --mode team",
    """desk = Team(members=[calc], model=FakeModel(), id="desk", name="Front desk",
            telemetry=False)""",
    """print(type(desk.db).__name__)  # given when the cell that made desk ended
if importlib.util.find_spec("openinference"):  # agno's tracing, when installed
    from agno.tracing import setup_tracing
    setup_tracing(db=desk.db)""",
    'first = desk.run("delegate: add 4 5", session_id="desk-1", user_id="ada")',
    f"# {MARKER}\nbrowser = %agno_history\nbrowser",
    'second = desk.run("delegate: add 20 22", session_id="desk-1", user_id="ada")',
]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab (this interpreter, agno 3 beside agno_nb) on a folder with the notebook."""
    workdir = tmp_path / "nb"
    workdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, workdir / "live.ipynb")
    with running_lab(tmp_path, workdir, "live.ipynb") as lab:
        yield lab


def test_live_browser_shows_a_team_run_as_it_happens(lab: tuple[str, Path]) -> None:
    url, log = lab
    with chromium_page(1280, 1100, "agno3_live_failure.png") as page:
        from playwright.sync_api import expect

        open_and_run_all(page, url, log)

        cell = page.locator(".jp-CodeCell").filter(has_text=MARKER)
        output = cell.locator(".jp-OutputArea-output")
        expect(output.locator("button", has_text="Refresh").first).to_be_visible()
        # the later cell's run arrived without a click: 4 runs (2 team + 2 member)
        expect(output).to_contain_text("The tool said: The tool said: 42", timeout=30_000)
        expect(output).to_contain_text("4 runs")
        rows = output.get_by_role("listbox", name="sessions").get_by_role("option")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("delegate: add 4 5")  # the team's, not the member's
        members = output.locator(".agno-nb-member")
        expect(members).to_have_count(2)
        expect(members.first).to_contain_text("calculator")
        expect(output).to_contain_text("total 30 tokens")
        expect(output).to_contain_text("first token")

        # open the newest team run's delegation and the member's add call
        newest = output.locator(".agno-nb-run").filter(has_text="add 20 22").first
        newest.locator("summary", has_text="tool call: delegate_task_to_member").click()
        member = newest.locator(".agno-nb-member")
        member.locator("summary", has_text="tool call: add").click()
        expect(member).to_contain_text('"a": 20')
        # tall enough for the whole widget, so its screenshot is one clean image
        height = int(output.evaluate("o => o.getBoundingClientRect().height")) + 400
        page.set_viewport_size({"width": 1280, "height": max(1100, min(height, 8000))})
        cell.scroll_into_view_if_needed()
        output.screenshot(path=str(ARTIFACTS / "agno3_live_browser.png"))
        newest.screenshot(path=str(ARTIFACTS / "agno3_live_team_run.png"))
