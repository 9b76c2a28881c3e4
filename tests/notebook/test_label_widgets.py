"""Labelling where you read: the browser's run cards (👍 / 👎, correct it, note,
keys), counts in the list, the label filter and export choice; ``%agno_label``
and ``%agno_sessions --label``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from agno_nb.agent import Agent
from agno_nb.evaluate import compare
from agno_nb.sessions import AgentSession
from agno_nb.widgets import SessionBrowser, SessionHistory
from agno_nb.widgets.run_labels import LabelBar

HOSTILE = "<script>alert(1)</script>"


def make_session(sid: str, runs: int, created: int) -> AgentSession:
    return AgentSession(
        session_id=sid,
        user_id="alice",
        agent_id="agent-1",
        created_at=created,
        memory={
            "runs": [
                {
                    "run_id": f"{sid}-run-{i}",
                    "content": f"answer {i} of {sid}",
                    "created_at": created + i,
                    "messages": [
                        {"role": "user", "content": f"question {i} of {sid}"},
                        {"role": "assistant", "content": f"answer {i} of {sid}"},
                    ],
                }
                for i in range(runs)
            ]
        },
    )


@pytest.fixture
def filled(storage: Any) -> Any:
    storage.upsert_many(
        [make_session("s1", 2, 1_700_000_000), make_session("s2", 3, 1_700_000_100)]
    )
    return storage


def test_run_cards_have_label_bars_that_store_labels(filled: Any) -> None:
    history = SessionHistory(filled, "s2")
    bars = history.label_bars
    assert [b.run_id for b in bars] == ["s2-run-0", "s2-run-1", "s2-run-2"]
    assert history.cards.children[1] is bars[0].card and history.cards.children[2] is bars[0]
    bars[0].good_button.click()
    (label,) = filled.labels("s2")
    assert (label.run_id, label.rating) == ("s2-run-0", "good")
    assert "good</b>" in bars[0].card.value and "agno-nb-card-good" in bars[0].card.value
    assert bars[0].good_button.button_style == "success"
    # correct it: the box opens with the answer, the text typed is saved with the note
    bars[1].correct_button.click()
    assert bars[1].correction.layout.display == "flex"
    assert bars[1].correction.value == "answer 1 of s2"
    bars[1].correction.value = "the corrected answer " + HOSTILE
    bars[1].note.value = "too vague"
    bars[1].save_button.click()
    fixed = {x.run_id: x for x in filled.labels("s2")}["s2-run-1"]
    assert (fixed.rating, fixed.correction, fixed.note) == (
        None,
        "the corrected answer " + HOSTILE,
        "too vague",
    )
    assert HOSTILE not in bars[1].card.value and "&lt;script&gt;" in bars[1].card.value
    assert "agno-nb-card-labelled" in bars[1].card.value
    # then 👎 keeps the correction and the note
    bars[1].bad_button.click()
    fixed = {x.run_id: x for x in filled.labels("s2")}["s2-run-1"]
    assert (fixed.rating, fixed.correction, fixed.note) == (
        "bad",
        "the corrected answer " + HOSTILE,
        "too vague",
    )
    bars[0].clear_button.click()
    assert [x.run_id for x in filled.labels("s2")] == ["s2-run-1"]
    # a new transcript shows the stored label
    again = SessionHistory(filled, "s2")
    assert again.label_bars[1].label.rating == "bad"
    assert "bad</b>" in again.label_bars[1].card.value


def test_keyboard_shortcuts_reach_python(filled: Any) -> None:
    bar = SessionHistory(filled, "s1").label_bars[0]
    assert isinstance(bar, LabelBar)
    # what the browser sends: the anywidget's custom message {"key": ...}
    bar.key_catcher._handle_custom_msg({"key": "b"}, [])
    assert filled.labels("s1")[0].rating == "bad"
    bar.key_catcher._handle_custom_msg({"key": "g"}, [])
    assert filled.labels("s1")[0].rating == "good"
    bar.key_catcher._handle_custom_msg({"key": "c"}, [])
    assert bar.correction.layout.display == "flex"
    bar.correction.value = "better"
    bar.key_catcher._handle_custom_msg({"key": "save"}, [])
    assert filled.labels("s1")[0].correction == "better"
    bar.key_catcher._handle_custom_msg({"key": "x"}, [])
    assert filled.labels("s1") == []
    bar.key_catcher._handle_custom_msg({"key": "q"}, [])  # not a shortcut: nothing
    assert filled.labels("s1") == []


def test_browser_counts_filter_and_export(filled: Any, tmp_path: Path) -> None:
    browser = SessionBrowser(filled, export_path=str(tmp_path / "out.jsonl"))
    assert [r["runs"] for r in browser.session_list.rows] == ["3", "2"]
    bars = browser.history.label_bars  # the newest session, s2, is selected
    bars[0].good_button.click()
    bars[2].bad_button.click()
    assert [r["runs"] for r in browser.session_list.rows] == ["3 ✓1 ✗1", "2"]
    assert browser.session_list.value == "s2"
    browser.label_filter.value = "unlabelled"
    assert browser.session_list.ids == ["s1"] and browser.total == 1
    assert "label = unlabelled" in browser.snapshot_html()
    browser.label_filter.value = "bad"
    assert browser.session_list.ids == ["s2"]
    browser.label_filter.value = "good"
    assert browser.session_list.ids == ["s2"]
    # the export box: good runs only, of the sessions the filters select
    browser.export_runs.value = "good"
    assert browser.export_filtered() == 1
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["messages"][0]["content"] == "question 0 of s2"
    browser.history.label_bars[2].correct_button.click()
    browser.history.label_bars[2].correction.value = "fixed"
    browser.history.label_bars[2].save_button.click()
    browser.export_runs.value = "good+corrected"
    assert browser.export_session() == 2
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    finals = [json.loads(x)["messages"][-1]["content"] for x in lines]
    assert finals == ["answer 0 of s2", "fixed"]
    browser.label_filter.value = ""
    browser.export_runs.value = "all"
    assert browser.export_filtered() == 5


def test_browser_hides_evaluation_sessions(filled: Any) -> None:
    compare({"a": Agent(storage=filled)}, ["hi", "there"], progress=False)
    browser = SessionBrowser(filled)
    assert browser.total == 4
    browser.hide_eval.value = True
    assert sorted(browser.session_list.ids) == ["s1", "s2"] and browser.total == 2


# -- magics ---------------------------------------------------------------------------------


def test_agno_label_and_sessions_by_label(
    ip: InteractiveShell, magics: Any, target: Callable[[str], str]
) -> None:
    table = f"l{uuid.uuid4().hex[:8]}_sessions"
    storage = ip.run_line_magic("agno_storage", target(table))
    storage.upsert_many(
        [
            make_session("s1", 2, 1_700_000_000),
            make_session("s2", 2, 1_700_000_100),
            make_session("s3", 1, 1_700_000_200),
        ]
    )
    out = ip.run_line_magic(
        "agno_label", 's1 s1-run-1 bad --score 2 --note "off topic" --correction "the answer"'
    )
    assert "labelled run s1-run-1 of session s1: bad, score 2" in repr(out)
    (label,) = storage.labels("s1")
    assert (label.rating, label.score, label.note, label.correction) == (
        "bad",
        2.0,
        "off topic",
        "the answer",
    )
    ip.run_line_magic("agno_label", "s2 #1 good --tags a,b")  # the first run, by number
    assert storage.labels("s2")[0].run_id == "s2-run-0"
    assert storage.labels("s2")[0].tags == ("a", "b")
    ip.run_line_magic("agno_label", "s3 s3-run good")  # a unique start of the run id
    assert storage.labels("s3")[0].run_id == "s3-run-0"
    good = ip.run_line_magic("agno_sessions", "--label good")
    assert list(good["session_id"]) == ["s3", "s2"]
    assert list(ip.run_line_magic("agno_sessions", "--label bad")["session_id"]) == ["s1"]
    ip.run_line_magic("agno_label", "s1 #2 --delete")
    none = ip.run_line_magic("agno_sessions", "--label bad")
    assert len(none) == 0
    assert "no sessions match --label 'bad'; " in repr(none) + none._repr_html_()
    ip.run_line_magic("agno_label", "s3 #1 --delete")
    unlabelled = ip.run_line_magic("agno_sessions", "--label unlabelled")
    assert list(unlabelled["session_id"]) == ["s3", "s1"]
    for line, says in [
        ("s1 s1-run-1 meh", "invalid choice: 'meh'"),
        ("s1 s1-run-1 good --score high", "'high' is not a number"),
        ("nope s1-run-1 good", "no session 'nope'"),
        ("s1 zzz good", "no run 'zzz'"),
        ("s1 s1-run good", "2 runs start with 's1-run'"),
        ("s1 #9 good", "pick #1 to #2"),
        ("s1 s1-run-0", "nothing to label"),
    ]:
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("agno_label", line)
        assert says in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UsageError, match="invalid choice: 'great'"):
        ip.run_line_magic("agno_sessions", "--label great")


def test_a_label_card_styles_a_team_run_like_the_transcript() -> None:
    """A labelled team run card nests its member run and carries the style block for
    it (and for trace spans), as the transcript does; a plain run card does not."""
    from agno_nb.render_agno import AGNO_STYLE
    from agno_nb.widgets.run_labels import card_html

    team = {"run_id": "t1", "messages": [{"role": "user", "content": "hi"}]}
    member = {"run_id": "m1", "parent_run_id": "t1", "messages": []}
    nested = card_html(team, 0, None, members=[(member, [])])
    assert "agno-nb-member" in nested and AGNO_STYLE in nested
    assert AGNO_STYLE not in card_html(team, 0, None)
