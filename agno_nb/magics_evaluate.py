"""IPython magics for evaluating: ``%agno_label`` (label a run from a cell), and
the label selection behind ``%agno_sessions --label good|bad|unlabelled``.

Thin like the other magics: parse the line, one call into the core
(:mod:`agno_nb.storage.labels`), show the result; a bad line is one
``UsageError`` line. The storage is the one ``%agno_storage`` opened.
"""

from __future__ import annotations

import argparse
import html
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from agno_nb.magics_storage import usage_errors
from agno_nb.urls import mask_url

__all__ = ["EvaluateMagics", "resolve_run_id", "sessions_by_label"]


class _Parser(argparse.ArgumentParser):
    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ")
        raise UsageError(mask_url(f"{self.prog}: {message}; usage: {usage}"))

    def parse_line(self, line: str) -> argparse.Namespace:
        line = line.rstrip().removesuffix(";")
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"{self.prog}: cannot parse the line ({exc})") from None
        return self.parse_args(words)


def _score(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def resolve_run_id(storage: Any, session_id: str, run: str) -> str:
    """The id of the session's run that ``run`` names: its id, a unique start of
    its id (the short id a transcript shows), or ``#N`` (the N-th run, from 1).

    Raises:
        SessionNotFoundError: no such session.
        InvalidArgumentError: no run, or several runs, match.
    """
    from agno_nb.errors import InvalidArgumentError

    ids = [str(r.get("run_id")) for r in storage.get_runs(session_id) if r.get("run_id")]
    if run in ids:
        return run
    if run.startswith("#") and run[1:].isdigit():
        number = int(run[1:])
        if 1 <= number <= len(ids):
            return ids[number - 1]
        raise InvalidArgumentError(
            f"session {session_id!r} has {len(ids)} runs: pick #1 to #{len(ids)}"
        )
    found = [i for i in ids if i.startswith(run)]
    if len(found) == 1:
        return found[0]
    many = f"{len(found)} runs start with {run!r}" if found else f"no run {run!r}"
    raise InvalidArgumentError(
        f"session {session_id!r}: {many}: give more of the run id, or #N for the N-th run"
    )


def sessions_by_label(
    storage: Any, label: str, filters: dict[str, Any], limit: int
) -> tuple[Any, int]:
    """The summaries frame of the newest ``limit`` sessions with a run labelled
    ``label`` (``unlabelled``: none) under ``filters``, and how many match."""
    from agno_nb.storage.frames import summaries_frame
    from agno_nb.storage.labels import select_sessions

    page, total = select_sessions(storage, label=label, limit=limit, **filters)
    return summaries_frame(page), total


class _Labelled:
    """What ``%agno_label`` returns: one line, as HTML and text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return f'<div class="agno-nb-muted">{html.escape(self.text)}</div>'

    def __repr__(self) -> str:
        return self.text


@magics_class
class EvaluateMagics(Magics):
    """``%agno_label``; uses the storage ``%agno_storage`` made current."""

    @property
    def storage(self) -> Any:
        magics = getattr(self.shell, "_agno_nb_magics", None)
        if magics is None:
            raise UsageError("load the extension first: %load_ext agno_nb")
        return magics.storage

    @line_magic
    def agno_label(self, line: str = "") -> Any:
        """Label one run of the current storage.

        %agno_label SESSION RUN good|bad [--score N] [--note TEXT] [--correction TEXT]
                    [--tags a,b]
        %agno_label SESSION RUN --delete

        RUN is the run id, a unique start of it (the short id a transcript
        shows), or #N for the N-th run. A second label replaces the first.
        """
        p = _Parser("%agno_label")
        p.add_argument("session_id")
        p.add_argument("run")
        p.add_argument("rating", nargs="?", choices=("good", "bad"))
        p.add_argument("--score", type=_score)
        p.add_argument("--note")
        p.add_argument("--correction")
        p.add_argument("--tags", default="")
        p.add_argument("--delete", action="store_true")
        args = p.parse_line(line)
        storage = self.storage
        with usage_errors():
            run_id = resolve_run_id(storage, args.session_id, args.run)
            if args.delete:
                had = storage.delete_label(args.session_id, run_id)
                what = "removed the label of" if had else "no label to remove on"
                return _Labelled(f"{what} run {run_id} of session {args.session_id}")
            tags = [t.strip() for t in args.tags.split(",") if t.strip()]
            label = storage.label_run(
                args.session_id,
                run_id,
                args.rating,
                score=args.score,
                correction=args.correction,
                note=args.note,
                tags=tags,
            )
        parts = [label.rating or "no rating"]
        if label.score is not None:
            parts.append(f"score {label.score:g}")
        if label.correction:
            parts.append("with a correction")
        if label.note:
            parts.append("with a note")
        return _Labelled(f"labelled run {run_id} of session {args.session_id}: {', '.join(parts)}")
