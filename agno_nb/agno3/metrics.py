"""agno 1.x run, message and session metrics in agno 3.x's names.

The renames are agno's own (``agno.db.migrations.v1_to_v2``): ``time`` -> ``duration``,
``audio_tokens`` -> ``audio_total_tokens``, ``input_audio_tokens`` -> ``audio_input_tokens``,
``output_audio_tokens`` -> ``audio_output_tokens``, ``cached_tokens`` -> ``cache_read_tokens``.
A 1.x run keeps one value per model call in a list; agno 3.x expects one number, so
tokens and durations are summed and the first time to first token is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: agno's own 1.x -> 2.x metric renames (agno.db.migrations.v1_to_v2).
METRIC_RENAMES = {
    "time": "duration",
    "audio_tokens": "audio_total_tokens",
    "input_audio_tokens": "audio_input_tokens",
    "output_audio_tokens": "audio_output_tokens",
    "cached_tokens": "cache_read_tokens",
}
_METRIC_NUMBERS = {
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "audio_total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "duration",
    "cost",
}
_METRIC_FIELDS = _METRIC_NUMBERS | {"time_to_first_token", "additional_metrics", "provider_metrics"}

_NUMBER_TYPES = (int, float)


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (not a bool)."""
    return type(value) in _NUMBER_TYPES


def convert_metrics(metrics: Any, *, leftovers: dict[str, Any]) -> Any:
    """A 1.x metrics dict in agno 3.x's names, lists summed to scalars.

    What has no 3.x field (``prompt_tokens``, per-call lists of more than one
    value, unknown keys) is added to ``leftovers``.
    """
    if type(metrics) is not dict:
        if isinstance(metrics, Mapping):
            metrics = dict(metrics)
        else:
            if metrics is not None:
                leftovers["metrics"] = metrics
            return None
    out: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    per_call: dict[str, Any] = {}
    rename = METRIC_RENAMES.get
    for key, value in metrics.items():
        name = rename(key, key)
        kind = type(value)
        if name in _METRIC_FIELDS:
            if kind is int or kind is float or value is None:
                if value is not None:
                    out[name] = value
                continue
            if kind is list:
                value = _from_list(key, name, value, kept, per_call)
                if value is not None:
                    out[name] = value
            elif name in _METRIC_NUMBERS:
                kept[key] = value
            else:
                out[name] = value
        elif value is not None:  # zeros and False are values too
            kept[key] = value
    if kept:
        leftovers["metrics"] = kept
    if per_call:
        leftovers["metrics_per_call"] = per_call
    return out


def _from_list(
    key: str, name: str, value: list[Any], kept: dict[str, Any], per_call: dict[str, Any]
) -> Any:
    """One per-model-call list as a scalar: summed (the first time to first token)."""
    if not all(type(v) in _NUMBER_TYPES for v in value):
        kept[key] = value
        return None
    if len(value) > 1:
        per_call[key] = value
    if not value:
        return None
    return value[0] if name == "time_to_first_token" else sum(value)
