"""Folding a run's pieces joined, in one pass, gives exactly the join of each
piece folded on its own (what layout v4 stored before), whatever the text."""

from __future__ import annotations

import random

import pytest

from agno_nb.summary import (
    SEPARATOR,
    count_new,
    first_question,
    fold,
    fold_joined,
    name_text,
    run_facts,
    run_messages,
    run_text,
)

#: characters whose folding or NFKC composition could reach across a separator
#: if it were not a starter: combining marks, Hangul jamo, compatibility forms,
#: letters whose case folding grows, the separator and NUL themselves
TRICKY = [
    "a", "Z", "é", "\u0301", "\u0327", "\u0345", "ß", "\u1e9e", "ﬁ", "Ⅻ", "\u2102", "İ", "ς",
    "Σ", "ǅ", "\u00a0", "\u3000", "ｶ", "\uff9e", "한", "\u1100", "\u1161", "\u11a8", "Å",
    "\u212b", "ﷺ", "\u0f73", "\u0f71", "\u0f72", " ", "\n", SEPARATOR, "\0",
]  # fmt: skip


def _by_piece(pieces: list[str]) -> str:
    return SEPARATOR.join(fold(p) for p in pieces)


@pytest.mark.parametrize("seed", range(4))
def test_fold_joined_is_the_join_of_folded_pieces(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(5000):
        pieces = [
            "".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 6)))
            for _ in range(rng.randint(1, 4))
        ]
        assert fold_joined(pieces) == _by_piece(pieces), pieces


def test_fold_joined_edges() -> None:
    assert fold_joined(["ABC", "Déf"]) == "abc" + SEPARATOR + "déf"
    assert fold_joined(["\u0301x", "STRASSE"]) == _by_piece(["\u0301x", "STRASSE"])
    assert fold_joined(["a" + SEPARATOR + "b", "C\0"]) == "a b" + SEPARATOR + "c "
    assert fold_joined(["only"]) == "only"


def test_run_text_with_messages_given_is_the_same() -> None:
    from agno_nb.summary import run_messages

    run = {
        "run_id": "R-1",
        "messages": [
            {"role": "user", "content": "Grüße AUS Köln"},
            {"role": "assistant", "content": [{"type": "text", "text": "\uff2f\uff2b"}]},
            {"role": "user", "content": "old", "from_history": True},
        ],
    }
    assert run_text(run) == run_text(run, run_messages(run))
    assert run_text(run) == SEPARATOR.join(
        fold(p) for p in ["R-1", "Grüße AUS Köln", "\uff2f\uff2b"]
    )
    assert run_text({}) == "" and run_text(None) == ""


def _name_by_piece(session_id: str, name: object) -> str:
    return fold("" if name is None else str(name)) + SEPARATOR + fold(session_id)


@pytest.mark.parametrize("seed", range(2))
def test_name_text_is_each_side_folded(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3000):
        sid = "".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 5)))
        name = rng.choice([None, 7, "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, 5)))])
        assert name_text(sid, name) == _name_by_piece(sid, name), (sid, name)


#: run shapes agno 1.x and agno_nb store: history copies, parts, no messages...
RUN_SHAPES: list[object] = [
    {"run_id": "R1", "messages": [{"role": "user", "content": "Hello  there"}]},
    {"run_id": 7, "messages": [{"role": "system", "content": "Be brief"},
                               {"role": "user", "content": "old", "from_history": True},
                               {"role": "user", "content": [{"text": "Part A"}, "b"]},
                               {"role": "assistant", "content": None}]},
    {"messages": [{"role": "assistant", "content": "none"}], "message": {"content": "Single"}},
    {"message": {"role": "user", "content": "ÉCOLE " * 30}, "content": "Answer"},
    {"response": {"messages": [{"role": "user", "content": "from response"}]}},
    {"messages": ["not a dict", {"role": "user", "content": 42, "from_history": 0}]},
    {"run_id": None, "messages": []},
    {"run_id": "Rx", "messages": [{"role": "user", "content": ""},
                                  {"role": "assistant", "content": "A\x1fB\0C"}]},
    {"messages": [{"role": "user", "content": "Ünïcode ÉCOLE"}, {"content": "Straße"}]},
    {"run_id": "", "messages": [{"role": "user", "content": "Mixed CASE ascii"}]},
    "not a run",
    None,
]  # fmt: skip


@pytest.mark.parametrize("run", RUN_SHAPES, ids=range(len(RUN_SHAPES)))
def test_run_facts_is_what_the_separate_functions_give(run: object) -> None:
    expected = (count_new(run_messages(run)), run_text(run), first_question(run))
    assert run_facts(run, search=True, question=True) == expected
    assert run_facts(run, search=False, question=False) == (expected[0], None, None)
    # stored as written where LIKE ignores ASCII case: the fold of an ASCII text is its lower()
    kept = run_facts(run, search=True, question=False, ascii_as_is=True)[1]
    assert kept is not None
    assert (kept.lower() if kept.isascii() else kept) == expected[1]
