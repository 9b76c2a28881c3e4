"""Export runs as JSONL few-shot examples: one ``{"messages": [...]}`` line per run.

The messages follow the OpenAI chat format (role, content, tool_calls,
tool_call_id, name), so the file can be used for fine-tuning or as few-shot
prompts. Only the messages a run added are kept: copies agno marks
``from_history`` belong to earlier runs, which are exported on their own lines.

Storage access is paged (``get_runs`` / ``list_sessions`` in chunks), so
exporting a large table never loads it at once. Shared by the widgets, the
magics and the CLI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from agno_nb.sessions import Message, Run, content_text

__all__ = [
    "corrected_example",
    "export_jsonl",
    "few_shot_example",
    "few_shot_examples",
    "iter_examples",
    "iter_labelled_examples",
    "write_jsonl",
]

#: How many runs or sessions are fetched per query while exporting.
CHUNK = 200


def _content(content: Any) -> str:
    if isinstance(content, Mapping | list) and not _is_text_parts(content):
        return json.dumps(content, ensure_ascii=False, default=str)
    return content_text(content)


def _is_text_parts(content: Any) -> bool:
    return isinstance(content, list) and all(
        isinstance(p, str) or (isinstance(p, Mapping) and "text" in p) for p in content
    )


def _tool_call(call: Any) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        return {"type": "function", "function": {"name": "tool", "arguments": str(call)}}
    raw_function = call.get("function")
    function: Mapping[str, Any] = raw_function if isinstance(raw_function, Mapping) else {}
    name = function.get("name") or call.get("tool_name") or call.get("name") or "tool"
    args = function.get("arguments", call.get("tool_args", call.get("arguments")))
    if not isinstance(args, str):
        args = json.dumps(args if args is not None else {}, ensure_ascii=False, default=str)
    out: dict[str, Any] = {"type": "function", "function": {"name": str(name), "arguments": args}}
    call_id = call.get("id") or call.get("tool_call_id")
    if call_id:
        out = {"id": str(call_id), **out}
    return out


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role}
    if m.tool_calls:
        out["content"] = _content(m.content) if m.content is not None else None
        out["tool_calls"] = [_tool_call(c) for c in m.tool_calls]
    else:
        out["content"] = _content(m.content)
    if m.role == "tool":
        if m.tool_call_id:
            out["tool_call_id"] = m.tool_call_id
        if m.name:
            out["name"] = m.name
    return out


def few_shot_example(run: Run | Mapping[str, Any], *, system: bool = True) -> dict[str, Any] | None:
    """One run as ``{"messages": [...]}``; None when the run has no assistant turn.

    Args:
        run: an agno run dict or :class:`~agno_nb.sessions.Run`.
        system: keep the run's system message.
    """
    r = run if isinstance(run, Run) else Run.from_dict(run)
    messages = [
        _message(m) for m in r.new_messages() if system or m.role not in ("system", "developer")
    ]
    if not any(m["role"] == "assistant" for m in messages):
        if r.content is None or not messages:
            return None
        messages.append({"role": "assistant", "content": _content(r.content)})
    return {"messages": messages}


def few_shot_examples(
    runs: Iterable[Run | Mapping[str, Any]], *, system: bool = True
) -> list[dict[str, Any]]:
    """Every run that has an assistant turn, as few-shot examples (oldest first)."""
    examples = (few_shot_example(r, system=system) for r in runs)
    return [e for e in examples if e is not None]


def _session_runs(storage: Any, session_id: str) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = storage.get_runs(session_id, limit=CHUNK, offset=offset)
        yield from page
        if len(page) < CHUNK:
            return
        offset += CHUNK


def _filtered_session_ids(
    storage: Any, *, user_id: str | None, entity_id: str | None, search: str | None
) -> Iterator[str]:
    offset = 0
    while True:
        page = storage.list_sessions(
            user_id=user_id, entity_id=entity_id, search=search, limit=CHUNK, offset=offset
        )
        for summary in page:
            if not summary.error:
                yield summary.session_id
        if len(page) < CHUNK:
            return
        offset += CHUNK


def iter_examples(
    storage: Any,
    *,
    session_ids: Iterable[str] | None = None,
    user_id: str | None = None,
    entity_id: str | None = None,
    search: str | None = None,
    system: bool = True,
) -> Iterator[dict[str, Any]]:
    """Few-shot examples of the given sessions, or of every session matching the filters.

    Sessions that can't be decoded are skipped when exporting a filtered set;
    a session named in ``session_ids`` that is missing raises SessionNotFoundError.
    """
    ids: Iterable[str] = (
        session_ids
        if session_ids is not None
        else _filtered_session_ids(storage, user_id=user_id, entity_id=entity_id, search=search)
    )
    for session_id in ids:
        for run in _session_runs(storage, session_id):
            example = few_shot_example(run, system=system)
            if example is not None:
                yield example


def corrected_example(
    run: Run | Mapping[str, Any], correction: str, *, system: bool = True
) -> dict[str, Any] | None:
    """The run as a few-shot example whose final assistant message is ``correction``
    (the run's own final answer is replaced; tool calls before it are kept)."""
    example = few_shot_example(run, system=system)
    if example is None:
        r = run if isinstance(run, Run) else Run.from_dict(run)
        user = r.user_message
        if user is None:
            return None
        example = {"messages": [{"role": "user", "content": _content(user.content)}]}
    messages = list(example["messages"])
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and not last.get("tool_calls"):
        messages.pop()
    messages.append({"role": "assistant", "content": correction})
    return {"messages": messages}


def iter_labelled_examples(
    storage: Any,
    *,
    rating: str | None = None,
    corrections: bool = False,
    session_ids: Iterable[str] | None = None,
    system: bool = True,
) -> Iterator[dict[str, Any]]:
    """Few-shot examples of labelled runs: those rated ``rating`` and, with
    ``corrections``, every run that has a correction (the correction as the
    final assistant message, whatever the rating). Each run is exported once,
    sessions in id order and runs in order."""
    from agno_nb.storage.labels import check_rating

    rating = check_rating(rating)
    wanted = None if session_ids is None else set(session_ids)
    chosen: dict[str, dict[str, Any]] = {}
    for label in storage.labels():
        if wanted is not None and label.session_id not in wanted:
            continue
        if (corrections and label.correction) or (rating is not None and label.rating == rating):
            chosen.setdefault(label.session_id, {})[label.run_id] = label
    for session_id, by_run in chosen.items():
        for run in _session_runs(storage, session_id):
            label = by_run.get(run.get("run_id"))  # type: ignore[arg-type]
            if label is None:
                continue
            if corrections and label.correction:
                example = corrected_example(run, label.correction, system=system)
            else:
                example = few_shot_example(run, system=system)
            if example is not None:
                yield example


def write_jsonl(examples: Iterable[Mapping[str, Any]], out: IO[str]) -> int:
    """Write one JSON object per line; returns how many lines were written."""
    count = 0
    for example in examples:
        out.write(json.dumps(example, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def export_jsonl(
    storage: Any,
    path: str | Path,
    *,
    session_ids: Iterable[str] | None = None,
    user_id: str | None = None,
    entity_id: str | None = None,
    search: str | None = None,
    system: bool = True,
    rating: str | None = None,
    corrections: bool = False,
) -> int:
    """Write the few-shot examples of some sessions to ``path`` (UTF-8 JSONL).

    The file is written whole or not at all. Returns the number of examples
    written. See :func:`iter_examples` for the selection rules.

    With ``rating`` (``"good"`` or ``"bad"``) or ``corrections=True`` only
    labelled runs are exported (see :func:`iter_labelled_examples`):
    ``rating="good"`` keeps the runs rated good; ``corrections=True`` adds
    every run with a correction, its correction as the final assistant message.
    ``session_ids`` still narrows the sessions.

    Raises:
        InvalidArgumentError: ``rating`` is not good/bad, or ``user_id``,
            ``entity_id`` or ``search`` is combined with a label filter.
    """
    target = Path(path)
    examples: Iterator[dict[str, Any]]
    if rating is not None or corrections:
        if user_id is not None or entity_id is not None or search is not None:
            from agno_nb.errors import InvalidArgumentError

            raise InvalidArgumentError(
                "rating/corrections select labelled runs: narrow them with session_ids, "
                "not user_id, entity_id or search"
            )
        examples = iter_labelled_examples(
            storage,
            rating=rating,
            corrections=corrections,
            session_ids=session_ids,
            system=system,
        )
    else:
        examples = iter_examples(
            storage,
            session_ids=session_ids,
            user_id=user_id,
            entity_id=entity_id,
            search=search,
            system=system,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("w", encoding="utf-8") as out:
            count = write_jsonl(examples, out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count
