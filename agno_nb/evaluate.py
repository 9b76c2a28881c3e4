"""Evaluate agents in the notebook: compare agents on the same prompts, and pick
the better answer (kept as a run label, see :mod:`agno_nb.storage.labels`).

>>> from agno_nb.evaluate import compare
>>> result = compare({"v1": agent_a, "v2": agent_b}, ["What is 2+2?", "Say hi"])
>>> result.df                      # one row per prompt
>>> result.widget()                # answers side by side; pick the better one
>>> result.pick(0, "v2")           # the same from code: v2's run good, v1's bad

Every prompt runs through every agent in a fresh session of its own (no
history from another prompt leaks in), marked as an evaluation session: its
name starts with ``[eval]`` and its session state holds ``agno_nb_evaluation``
(which comparison, which variant, which prompt), so the session browser can
hide it. Works with agno_nb's :class:`~agno_nb.agent.Agent` and with agno's
own Agent (1.x; 2.x/3.x through the same ``run(..., session_id=...)`` call).

The prompts are strings, ``{"prompt": ..., "expected": ...}`` dicts, few-shot
examples (``{"messages": [...]}``, as :func:`agno_nb.export.export_jsonl`
writes them: the last user message is the prompt, the final assistant
message the expected answer) or the path of such a JSONL file.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agno_nb.errors import InvalidArgumentError
from agno_nb.sessions import content_text

if TYPE_CHECKING:
    import pandas as pd

    from agno_nb.storage.labels import Label

__all__ = [
    "EVAL_NAME_PREFIX",
    "EVAL_STATE_KEY",
    "Answer",
    "Comparison",
    "Prompt",
    "compare",
    "is_evaluation_session",
    "load_prompts",
]

#: Session state key marking an evaluation session (its value says which comparison).
EVAL_STATE_KEY = "agno_nb_evaluation"
#: How an evaluation session's name starts (listings hide these on request).
EVAL_NAME_PREFIX = "[eval]"

Progress = Callable[[int, int], None]


def is_evaluation_session(session: Any) -> bool:
    """Whether a session (or its summary, or its name) was made by :func:`compare`."""
    name = session if isinstance(session, str) or session is None else session.session_name
    return isinstance(name, str) and name.startswith(EVAL_NAME_PREFIX)


# -- prompts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """One input of a comparison, with the answer expected (when the dataset has one)."""

    text: str
    expected: str | None = None


def _from_messages(messages: Any, where: str) -> Prompt:
    if not isinstance(messages, list):
        raise InvalidArgumentError(f"{where}: 'messages' is not a list: pass chat messages")
    users = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
    if not users:
        raise InvalidArgumentError(f"{where}: no user message to use as the prompt")
    last_user = max(i for i, m in enumerate(messages) if m in users)
    after = [
        m
        for m in messages[last_user + 1 :]
        if isinstance(m, Mapping) and m.get("role") == "assistant" and m.get("content")
    ]
    expected = content_text(after[-1]["content"]) if after else None
    return Prompt(content_text(messages[last_user].get("content")), expected)


def _prompt(item: Any, where: str) -> Prompt:
    if isinstance(item, Prompt):
        return item
    if isinstance(item, str):
        return Prompt(item)
    if isinstance(item, Mapping):
        if "messages" in item:
            return _from_messages(item["messages"], where)
        text = item.get("prompt", item.get("input"))
        if isinstance(text, str):
            expected = item.get("expected")
            return Prompt(text, None if expected is None else content_text(expected))
    raise InvalidArgumentError(
        f"{where} is not a prompt: pass a string, {{'prompt': ..., 'expected': ...}} or a "
        "few-shot example {'messages': [...]}"
    )


def load_prompts(prompts_or_dataset: Any) -> list[Prompt]:
    """The prompts of a list (strings, dicts, examples) or of a JSONL dataset file.

    Raises:
        InvalidArgumentError: an item is not a prompt, or the file has a bad line.
    """
    if isinstance(prompts_or_dataset, str | Path) and (
        isinstance(prompts_or_dataset, Path) or str(prompts_or_dataset).endswith(".jsonl")
    ):
        path = Path(prompts_or_dataset)
        if not path.is_file():
            raise InvalidArgumentError(f"no dataset file at {str(path)!r}: check the path")
        out: list[Prompt] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise InvalidArgumentError(
                    f"{path.name} line {number} is not JSON: fix or remove it"
                ) from None
            out.append(_prompt(item, f"{path.name} line {number}"))
        return out
    if isinstance(prompts_or_dataset, str | Mapping) or not isinstance(
        prompts_or_dataset, Iterable
    ):
        raise InvalidArgumentError(
            "pass the prompts as a list (strings or dicts) or the path of a .jsonl dataset"
        )
    return [_prompt(item, f"prompt {i}") for i, item in enumerate(prompts_or_dataset)]


# -- answers --------------------------------------------------------------------------------


@dataclass
class Answer:
    """One agent's answer to one prompt."""

    variant: str
    content: str | None
    session_id: str
    run_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    latency_s: float = 0.0
    tool_calls: list[str] = field(default_factory=list)
    #: the error's one line, when the agent failed on this prompt
    error: str | None = None


def _metric(metrics: Any, key: str) -> int | None:
    value = metrics.get(key) if isinstance(metrics, Mapping) else getattr(metrics, key, None)
    if isinstance(value, list):  # agno 1.x and agno_nb keep one value per model call
        value = sum(v for v in value if isinstance(v, int | float))
    return int(value) if isinstance(value, int | float) else None


def _tool_names(tools: Any) -> list[str]:
    names: list[str] = []
    for tool in tools or []:
        name = tool.get("tool_name") if isinstance(tool, Mapping) else None
        name = name or getattr(tool, "tool_name", None) or "tool"
        names.append(str(name))
    return names


def _is_agno_nb_agent(agent: Any) -> bool:
    from agno_nb.agent import Agent

    return isinstance(agent, Agent)


def _run_one(agent: Any, prompt: Prompt, *, variant: str, index: int, comparison_id: str) -> Answer:
    """Run ``prompt`` through ``agent`` in a fresh evaluation session of its own."""
    session_id = str(uuid.uuid4())
    marker = {"comparison": comparison_id, "variant": variant, "prompt_index": index}
    name = f"{EVAL_NAME_PREFIX} {variant} #{index + 1}: {prompt.text[:60]}"
    started = time.perf_counter()
    try:
        if _is_agno_nb_agent(agent):
            agent.session_id = session_id
            agent.session_state = {**agent.session_state, EVAL_STATE_KEY: marker}
            agent.rename_session(name)
            response = agent.run(prompt.text)
        else:  # agno's Agent: run() takes the session id and state
            response = agent.run(
                prompt.text, session_id=session_id, session_state={EVAL_STATE_KEY: marker}
            )
            _name_agno_session(agent, session_id, name)
    except Exception as exc:
        line = str(exc).splitlines()[0] if str(exc) else ""
        return Answer(
            variant,
            None,
            session_id,
            latency_s=time.perf_counter() - started,
            error=f"{type(exc).__name__}: {line}",
        )
    latency = time.perf_counter() - started
    metrics = getattr(response, "metrics", None) or {}
    return Answer(
        variant=variant,
        content=content_text(getattr(response, "content", None)),
        session_id=getattr(response, "session_id", None) or session_id,
        run_id=getattr(response, "run_id", None),
        input_tokens=_metric(metrics, "input_tokens"),
        output_tokens=_metric(metrics, "output_tokens"),
        total_tokens=_metric(metrics, "total_tokens"),
        latency_s=latency,
        tool_calls=_tool_names(getattr(response, "tools", None)),
    )


def _name_agno_session(agent: Any, session_id: str, name: str) -> None:
    """Name an agno Agent's evaluation session (agno 3.x: set_session_name; 1.x: rename_session)."""
    if hasattr(agent, "set_session_name"):
        agent.set_session_name(session_id=session_id, session_name=name)
    elif hasattr(agent, "rename_session") and getattr(agent, "storage", None) is not None:
        agent.rename_session(name, session_id=session_id)


def _agno_nb_storage(agent: Any) -> Any:
    """The agno_nb storage holding an agent's sessions, for labels: agno_nb's
    Agent's, agno 1.x's Agent's on :func:`~agno_nb.integrations.agno.as_agno_storage`,
    or one opened (on its own engine) on the table of agno 2.x/3.x's ``SqliteDb`` /
    ``PostgresDb``; None for anything else."""
    from agno_nb.storage.base import BaseStorage

    for candidate in (getattr(agent, "storage", None), getattr(agent, "db", None)):
        if isinstance(candidate, BaseStorage):
            return candidate
        inner = getattr(candidate, "storage", None)
        if isinstance(inner, BaseStorage):
            return inner
    return _on_agno_db(getattr(agent, "db", None))


def _on_agno_db(db: Any) -> Any:
    """agno_nb's storage on the sessions table of agno 2.x/3.x's SQL db, or None."""
    import sqlalchemy as sa

    engine = getattr(db, "db_engine", None)
    table = getattr(db, "session_table_name", None)
    if not isinstance(engine, sa.Engine) or not isinstance(table, str):
        return None
    from agno_nb.dialects import dialect_named
    from agno_nb.storage import open_storage

    dialect = dialect_named(engine.url.get_backend_name())
    if dialect is None or not dialect.holds_agno_tables:
        return None
    where = {"schema": getattr(db, "db_schema", None)} if dialect.has_schemas else {}
    return open_storage(engine.url.render_as_string(hide_password=False), table_name=table, **where)


# -- the result -----------------------------------------------------------------------------


@dataclass
class Row:
    """One prompt of a comparison and every agent's answer to it."""

    index: int
    prompt: Prompt
    answers: dict[str, Answer]
    #: the variant picked as the better answer (None: not picked yet)
    picked: str | None = None


class Comparison:
    """What :func:`compare` returns: the answers per prompt and agent, as a
    DataFrame (``df``), a widget (``widget()``) and static HTML (``_repr_html_``)."""

    def __init__(
        self, comparison_id: str, variants: list[str], rows: list[Row], storages: dict[str, Any]
    ) -> None:
        self.comparison_id = comparison_id
        self.variants = variants
        self.rows = rows
        #: where each variant's sessions are (an agno_nb storage), for labels
        self.storages = storages

    def __repr__(self) -> str:
        return (
            f"<Comparison {', '.join(self.variants)}: {len(self.rows)} prompts, "
            f"{sum(r.picked is not None for r in self.rows)} picked>"
        )

    @property
    def df(self) -> pd.DataFrame:
        """One row per prompt: ``prompt``, ``expected``, ``picked``, then per
        variant ``<v>_answer``, ``<v>_tokens``, ``<v>_latency_s``,
        ``<v>_tool_calls``, ``<v>_error``, ``<v>_session_id``, ``<v>_run_id``."""
        import pandas as pd

        records: list[dict[str, Any]] = []
        for row in self.rows:
            record: dict[str, Any] = {
                "prompt": row.prompt.text,
                "expected": row.prompt.expected,
                "picked": row.picked,
            }
            for v in self.variants:
                a = row.answers[v]
                record[f"{v}_answer"] = a.content
                record[f"{v}_tokens"] = a.total_tokens
                record[f"{v}_latency_s"] = a.latency_s
                record[f"{v}_tool_calls"] = len(a.tool_calls)
                record[f"{v}_error"] = a.error
                record[f"{v}_session_id"] = a.session_id
                record[f"{v}_run_id"] = a.run_id
            records.append(record)
        frame = pd.DataFrame.from_records(records)
        for v in self.variants:
            if f"{v}_tokens" in frame:
                frame[f"{v}_tokens"] = frame[f"{v}_tokens"].astype("Int64")
        frame.index.name = "prompt_index"
        return frame

    def pick(self, index: int, variant: str, *, note: str | None = None) -> list[Label]:
        """Pick ``variant``'s answer to prompt ``index`` as the better one.

        Stored as labels: the picked run ``good``, the others ``bad``, each tagged
        ``compare`` and with this comparison's id (a new pick replaces them).
        Returns the labels stored (none for an agent without an agno_nb storage;
        the pick is still kept in ``rows`` and ``df``).

        Raises:
            InvalidArgumentError: no such prompt or variant.
        """
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.rows):
            raise InvalidArgumentError(
                f"no prompt {index!r}: pick a prompt index from 0 to {len(self.rows) - 1}"
            )
        if variant not in self.variants:
            raise InvalidArgumentError(
                f"no variant {variant!r}: pick one of {', '.join(map(repr, self.variants))}"
            )
        row = self.rows[index]
        stored: list[Label] = []
        for v, answer in row.answers.items():
            storage = self.storages.get(v)
            if storage is None or answer.run_id is None:
                continue
            stored.append(
                storage.label_run(
                    answer.session_id,
                    answer.run_id,
                    "good" if v == variant else "bad",
                    note=note,
                    tags=("compare", self.comparison_id),
                )
            )
        row.picked = variant
        return stored

    def _repr_html_(self) -> str:
        from agno_nb.render_compare import render_comparison

        return render_comparison(self)

    def widget(self) -> Any:
        """The answers side by side with buttons to pick the better one (ipywidgets)."""
        from agno_nb.widgets.compare_view import CompareView

        return CompareView(self)


def _notebook_progress(total: int) -> Progress | None:
    """In a Jupyter kernel, a text progress bar redrawn in place on stdout (a saved
    notebook keeps its final state); None elsewhere."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    from agno_nb.render_compare import progress_text

    def update(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        sys.stdout.write("\r" + progress_text(done, total) + end)
        sys.stdout.flush()

    return update


def compare(
    agents: Mapping[str, Any],
    prompts_or_dataset: Any,
    *,
    progress: Progress | bool | None = None,
) -> Comparison:
    """Run every prompt through every agent, each in a fresh evaluation session.

    Args:
        agents: ``{"v1": agent_a, "v2": agent_b}``: a name per agent (agno_nb's
            Agent or agno's Agent).
        prompts_or_dataset: strings, ``{"prompt", "expected"}`` dicts, few-shot
            examples, or the path of a JSONL dataset (see :func:`load_prompts`).
        progress: called with (done, total) after each answer; default a progress
            bar in a notebook, nothing elsewhere; ``False`` for none.

    Returns:
        the :class:`Comparison` (an agent that raised on a prompt has that
        answer's ``error`` set; the others still ran). Each agent is back on the
        session it had before (its id; agno 1.x's Agent reloads it on its next run).

    Raises:
        InvalidArgumentError: no agents, a name that is not a string, or bad prompts.
    """
    if not isinstance(agents, Mapping) or not agents:
        raise InvalidArgumentError(
            'pass the agents as a dict of name -> agent, e.g. {"v1": agent_a, "v2": agent_b}'
        )
    for name, agent in agents.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"agent name {name!r} is not a string: name each agent")
        if not callable(getattr(agent, "run", None)):
            raise InvalidArgumentError(f"agents[{name!r}] has no run() method: pass an Agent")
    prompts = load_prompts(prompts_or_dataset)
    variants = list(agents)
    comparison_id = f"cmp-{uuid.uuid4().hex[:8]}"
    total = len(prompts) * len(variants)
    report: Progress | None = None
    if progress is None or progress is True:
        report = _notebook_progress(total)
    elif callable(progress):
        report = progress
    before = {name: getattr(agent, "session_id", None) for name, agent in agents.items()}
    rows: list[Row] = []
    done = 0
    try:
        for index, prompt in enumerate(prompts):
            answers: dict[str, Answer] = {}
            for name, agent in agents.items():
                answers[name] = _run_one(
                    agent, prompt, variant=name, index=index, comparison_id=comparison_id
                )
                done += 1
                if report is not None:
                    report(done, total)
            rows.append(Row(index, prompt, answers))
    finally:  # every agent back on the session it had (agno's run() switched it)
        for name, agent in agents.items():
            if before[name] is None or getattr(agent, "session_id", None) == before[name]:
                continue
            agent.session_id = before[name]
            reset = getattr(agent, "reset_session", None)  # agno 1.x: reload name and state
            if not _is_agno_nb_agent(agent) and callable(reset):
                reset()
    storages = {name: _agno_nb_storage(agent) for name, agent in agents.items()}
    return Comparison(comparison_id, variants, rows, storages)
