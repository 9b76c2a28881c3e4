"""JSON in and out of stored rows: encoding for the engines agno_nb creates,
decoding with errors that name the session, and what a session must look like
to be written.

The shape checks (:func:`check_session`, :func:`check_run`) refuse, before any
SQL runs, a session that no layout would read back as given (a dict of runs
stored as its keys, a string as its characters), with one line naming the
session and the field."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import ujson

from agno_nb.errors import CorruptSessionError, InvalidSessionError
from agno_nb.schema import DICT_FIELDS

#: Deepest nesting of JSON arrays and objects agno_nb writes. ``json.loads`` (agno
#: 1.x's reader, and ours) recurses once per level and fails near Python's
#: recursion limit (1,000 frames, fewer when called from deep in a program), so a
#: value nested deeper than this is refused on write instead of stored unreadable.
MAX_JSON_DEPTH = 512

#: orjson hands these to its ``default`` (there is none, so it raises and the
#: value goes on to ujson / ``json.dumps``, which treat them as the stdlib does).
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def encode_json(value: Any) -> str:
    """Compact JSON text of ``value``, read back by ``json.loads`` as ``json.dumps``
    would have written it.

    orjson encodes first (about five times faster than ujson on a run). It writes
    NaN and infinities as ``null``, so a result holding ``null`` anywhere is
    encoded again by ujson, which keeps them (agno's run and message dicts leave
    ``None`` out, so this is rare). What orjson refuses (integers beyond 64 bits,
    non-string keys, subclasses of str, int, dict and list, dates, dataclasses)
    goes to ujson too, and what ujson refuses to ``json.dumps``, so an
    unsupported value fails with the standard library's own error. Two types
    that ``json.dumps`` refuses are written as their value: UUIDs (as a string)
    and plain ``Enum`` members (ujson also writes ``Decimal`` as a number).
    """
    if value is None:  # an empty column (extra_data, say): no encoder needed
        return "null"
    if type(value) is StoredRun:  # a run as read, untouched: its stored text
        text = value.text
        return "null" if text is None else text if isinstance(text, str) else text.decode()
    try:
        data = orjson.dumps(value, default=_as_stored, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        # orjson stops at 255 levels: only then can a value be too deep to read back
        _check_depth(value)
    else:
        if data.find(b"null") < 0:  # not ``in``: that tries the int test first, raising inside
            return data.decode()
    try:
        return ujson.dumps(value, escape_forward_slashes=False, default=_decoded)
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value, separators=(",", ":"), default=_decoded)


def _as_stored(value: Any) -> Any:
    """orjson's ``default``: a stored run as its text, the items of a list
    subclass (a ``RunList``) as a list; anything else is refused."""
    if type(value) is StoredRun:
        return orjson.Fragment(value.encoded() or b"null")
    if isinstance(value, list):
        return list.copy(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _decoded(value: Any) -> Any:
    """ujson's and json's ``default``: a stored run as its value."""
    if type(value) is StoredRun:
        return value.decode()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _check_depth(value: Any) -> None:
    """Refuse ``value`` if it nests deeper than :data:`MAX_JSON_DEPTH`."""
    if json_depth(value, MAX_JSON_DEPTH + 1) <= MAX_JSON_DEPTH:
        return
    with contextlib.suppress(RecursionError):  # a circular value: the stdlib's error
        json.dumps(value)
    raise InvalidSessionError(
        f"a JSON value nested more than {MAX_JSON_DEPTH} levels deep cannot be stored "
        "(it could not be read back): flatten it, or store it as a string"
    )


def json_depth(value: Any, stop: int) -> int:
    """How deeply lists, tuples and dicts nest in ``value`` (a scalar is 0); the
    walk stops once ``stop`` is reached. Iterative, so any depth is measured."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest >= stop:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest


@dataclass
class SessionSummary:
    """One line of a session listing; built without loading run payloads."""

    session_id: str
    user_id: str | None = None
    entity_id: str | None = None
    session_name: str | None = None
    run_count: int = 0
    message_count: int = 0
    created_at: int | None = None
    updated_at: int | None = None
    preview: str | None = None
    error: str | None = None

    @property
    def title(self) -> str:
        """What a list shows for this session: its name, else its first question."""
        return self.session_name or self.preview or self.session_id


def decode_json(text: Any, *, session_id: str, column: str) -> Any:
    """Parse one JSON column value; a bad value raises CorruptSessionError."""
    if text is None:
        return None
    if not isinstance(text, (str, bytes, bytearray)):
        return text  # already decoded by the driver
    try:
        return loads_exact(text)
    except json.JSONDecodeError as exc:
        problem = f"corrupt JSON in column {column!r} ({exc.msg} at char {exc.pos})"
    except UnicodeDecodeError as exc:  # bytes that are not UTF-8 (nor UTF-16/32 JSON)
        problem = f"bytes that are not UTF-8 text in column {column!r} (at byte {exc.start})"
    except RecursionError:  # written by something that does not limit nesting
        problem = f"JSON nested too deeply to read in column {column!r}"
    raise CorruptSessionError(
        f"session {session_id!r} has {problem}; other sessions are unaffected: "
        "fix or delete this row"
    )


#: Maps every byte to b"0" (a digit) or b" " (anything else), for the big-int guard.
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
#: 19 digits in a row: the shortest literal that can exceed a signed 64-bit integer.
_LONG_NUMBER = b"0" * 19
#: Sampling step of :func:`has_long_number`'s first look, and what 19 digits in
#: a row always show in it: three sampled digits one after the other.
_STRIDE = 6
_SAMPLED = b"0" * 3
#: Bytes translated at a time by :func:`has_long_number` (small enough to stay in
#: the CPU cache and reuse one allocation instead of mapping fresh pages).
_CHUNK = 1 << 15


def has_long_number(data: bytes) -> bool:
    """Whether ``data`` holds 19 or more digits in a row (anywhere, strings
    included): where orjson may read an integer differently from ``json.loads``.
    Checked in chunks that overlap by 18 bytes, so no run is split unseen.

    Every sixth byte is looked at first: 19 digits in a row hold three of those
    bytes one after the other (any 18 consecutive positions hold exactly three
    multiples of 6), so text whose sampled bytes never show three digits in a
    row has no such run, and only the rest is read whole. Ten-digit timestamps
    cover two sampled bytes at most, so JSON full of them stays on the short way.
    Only texts of one chunk are sampled (a session, a run): a bulk read's joined
    runs almost always show three sampled digits somewhere, and would then pay for
    the sample and the whole read.
    """
    # ``find``, not ``in``: ``bytes.__contains__`` tries its argument as an int
    # first, which raises (and formats) a TypeError inside on every call
    if len(data) <= _CHUNK:
        if data[::_STRIDE].translate(_DIGITS).find(_SAMPLED) < 0:
            return False
        return data.translate(_DIGITS).find(_LONG_NUMBER) >= 0
    overlap = len(_LONG_NUMBER) - 1
    for start in range(0, len(data), _CHUNK):
        if data[start : start + _CHUNK + overlap].translate(_DIGITS).find(_LONG_NUMBER) >= 0:
            return True
    return False


def loads_exact(text: str | bytes | bytearray) -> Any:
    """``json.loads(text)``, decoded by orjson when that gives the same values.

    orjson decodes several times faster but differs from the standard library
    in two ways this guards against: it reads integers beyond 64 bits as floats
    (so any run of 19 or more digits in the text sends it to ``json.loads``; a
    long digit string inside a JSON string only costs that fallback), and it
    refuses what ``json.loads`` accepts (``NaN``, ``Infinity``, ``1e400``, lone
    surrogates), which then goes to ``json.loads`` too.

    Raises:
        json.JSONDecodeError: the text is not JSON (as ``json.loads`` says).
    """
    try:
        data = text.encode() if isinstance(text, str) else bytes(text)
        value = orjson.loads(data)
    except (orjson.JSONDecodeError, UnicodeEncodeError):
        return json.loads(text)
    if has_long_number(data):
        return json.loads(text)
    return value


def loads_many(data: bytes) -> Any:
    """``orjson.loads(data)`` with the garbage collector paused: decoding a long
    session makes tens of thousands of containers, none of them garbage, and the
    collections they trigger would each walk the whole heap (in a big process,
    more time than the decoding itself). The collector is left as it was found.

    Raises:
        orjson.JSONDecodeError: ``data`` is not JSON orjson accepts.
    """
    if not gc.isenabled():
        return orjson.loads(data)
    gc.disable()
    try:
        return orjson.loads(data)
    finally:
        gc.enable()


def fingerprint(value: Any) -> bytes | None:
    """orjson's compact JSON of ``value``, or None when orjson refuses it (big
    integers, subclasses, non-string keys). Equal fingerprints mean equal JSON
    except that orjson writes NaN, infinities and None alike as ``null``: a
    fingerprint is only trusted as a reference if :func:`trusted` says so."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return None


def trusted(reference: bytes | None) -> bytes | None:
    """``reference`` if values with the same fingerprint are equal to it (it
    holds no ``null``, so no None, NaN or infinity to be told apart), else None."""
    return None if reference is None or b"null" in reference else reference


def session_row(
    reader: tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]],
    session: Any,
    now_ms: int,
) -> dict[str, Any]:
    """agno 1.x's columns of a session row (runs still inside) as INSERT
    parameters: the fields ``reader`` (names, a getter of their values) takes
    from ``session``, then its times in seconds (``now_ms`` for a new one)."""
    names, get = reader
    values = dict(zip(names, get(session), strict=True))
    now = now_ms // 1000
    values["updated_at"] = now
    values["created_at"] = session.created_at or now
    return values


def decode_row(row: Mapping[str, Any], json_columns: tuple[str, ...]) -> dict[str, Any]:
    """A row mapping with its JSON columns decoded."""
    data = dict(row)
    session_id = str(data.get("session_id"))
    for column in json_columns:
        if column in data:
            data[column] = decode_json(data[column], session_id=session_id, column=column)
    return data


class StoredRun(Mapping[str, Any]):
    """One run's JSON text as stored; read-only, decoded afresh on every use.

    ``text`` is ``str`` or UTF-8 ``bytes`` (whatever the driver hands over);
    ``session_id`` names the session in the error a corrupt text raises.
    """

    __slots__ = ("failed", "session_id", "text")

    def __init__(self, text: str | bytes | None, session_id: str) -> None:
        self.text = text
        self.session_id = session_id
        #: its text was found undecodable (a fact about the text, so shareable)
        self.failed = False

    def decode(self) -> Any:
        """The run's value, as ``json.loads`` reads the stored text (a new object).

        Raises:
            CorruptSessionError: the stored text is not JSON.
        """
        try:
            return decode_json(self.text, session_id=self.session_id, column="run")
        except CorruptSessionError:
            self.failed = True
            raise

    def encoded(self) -> bytes | None:
        """The stored text as UTF-8 bytes (None for SQL NULL)."""
        text = self.text
        return text.encode() if isinstance(text, str) else text

    def __getitem__(self, key: str) -> Any:
        return self.decode()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.decode())

    def __len__(self) -> int:
        return len(self.decode())

    def __contains__(self, key: object) -> bool:
        return key in self.decode()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredRun):
            return self.text == other.text or bool(self.decode() == other.decode())
        return bool(self.decode() == other)

    __hash__ = None  # type: ignore[assignment]  # equal to a dict, so unhashable like one

    def __repr__(self) -> str:
        return repr(self.decode())

    def __copy__(self) -> Any:
        return self.decode()

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self.decode()

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as its plain value
        return _decoded_run, (self.text, self.session_id)


def _decoded_run(text: str | bytes | None, session_id: str) -> Any:
    return decode_json(text, session_id=session_id, column="run")


# -- what a session must look like to be written -------------------------------------


def check_session(session: Any) -> None:
    """Refuse a session whose JSON fields would not read back as given.

    ``memory``, ``session_data``, ``extra_data`` and the entity's data must each
    be a dict or None; ``memory["runs"]`` (when the key is there) and a workflow
    session's ``runs`` must be a list or None; ``created_at`` and ``updated_at``
    whole seconds (an int) or None.

    Raises:
        InvalidSessionError: the first field that breaks these rules.
    """
    sid = getattr(session, "session_id", None)
    if not isinstance(sid, str) or not sid:
        raise InvalidSessionError(
            f"a session needs a non-empty string session_id, got {sid!r}: set session_id"
        )
    fields = session.__dict__
    for name in DICT_FIELDS:
        value = fields.get(name)
        if value is not None and not isinstance(value, dict):
            raise _refused(sid, name, value, "a dict or None")
    memory = fields.get("memory")
    if memory is not None and "runs" in memory:
        runs = memory["runs"]
        if runs is not None and not isinstance(runs, list):
            raise _refused(sid, "memory['runs']", runs, "a list of runs or None")
    for name in ("created_at", "updated_at"):
        value = fields.get(name)
        if value is not None and (type(value) is bool or not isinstance(value, int)):
            raise _refused(sid, name, value, "whole seconds since 1970 (an int) or None")
    runs_v2 = fields.get("runs_v2")
    if runs_v2 is not None and not isinstance(runs_v2, list):
        raise _refused(sid, "runs", runs_v2, "a list of runs or None")


def check_run(session_id: str, run: Any) -> None:
    """Refuse a run given to ``append_run`` that is not a mapping.

    Raises:
        InvalidSessionError: ``run`` is not a mapping.
    """
    if not isinstance(run, Mapping):
        raise _refused(session_id, "the run", run, "a dict")


def _refused(session_id: str, field: str, value: Any, wanted: str) -> InvalidSessionError:
    return InvalidSessionError(
        f"session {session_id!r}: {field} is a {type(value).__name__}, not {wanted}, so it "
        f"would not read back as given; nothing was written: make it {wanted}"
    )
