"""Summaries of runs (counts, preview) kept in the latest layout's columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agno_nb.sessions import content_text

PREVIEW_CHARS = 120


@dataclass
class RunsSummary:
    """Message counts and the first user question of a list of runs."""

    message_count: int = 0
    preview: str | None = None
    per_run_messages: list[int] = field(default_factory=list)


_MAPPINGS = (dict, Mapping)  # dict first: a plain dict skips the ABC check


def run_messages(run: Any) -> list[Mapping[str, Any]]:
    """The messages of a run dict (agno's RunResponse or older AgentRun shape)."""
    if not isinstance(run, _MAPPINGS):
        return []
    messages = run.get("messages")
    if messages is None:
        response = run.get("response")
        if isinstance(response, _MAPPINGS):
            messages = response.get("messages")
    if not messages:
        return []
    return [m for m in messages if isinstance(m, _MAPPINGS)]


def new_message_count(run: Any) -> int:
    """How many messages the run added (history copies are not counted)."""
    return count_new(run_messages(run))


def count_new(messages: list[Mapping[str, Any]]) -> int:
    """How many of a run's ``run_messages()`` it added (not history copies)."""
    return len([m for m in messages if not m.get("from_history")])


def first_question(run: Any) -> str | None:
    """The first user message the run added, shortened for a preview."""
    return _first_question(run, run_messages(run))


def _first_question(run: Any, messages: list[Mapping[str, Any]]) -> str | None:
    for message in messages:
        if message.get("role") == "user" and not message.get("from_history"):
            return shorten(content_text(message.get("content")))
    if isinstance(run, Mapping) and isinstance(run.get("message"), Mapping):
        return shorten(content_text(run["message"].get("content")))
    return None


def shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def summarize_runs(runs: Iterable[Any]) -> RunsSummary:
    summary = RunsSummary()
    counts = summary.per_run_messages
    for run in runs:
        messages = run_messages(run)
        counts.append(count_new(messages))
        if summary.preview is None:
            summary.preview = _first_question(run, messages)
    summary.message_count = sum(counts)
    return summary
