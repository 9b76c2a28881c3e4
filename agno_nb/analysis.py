"""Small analysis helpers over ``storage.messages_df()``: activity per user and day.

Every helper takes a storage (anything with ``messages_df``) or an already
loaded messages DataFrame, so you can filter first and analyse after. Days are
UTC calendar days. Messages agno marks ``from_history`` are copies of earlier
turns and are left out, so tokens are never counted twice.

``plot_activity`` needs matplotlib (``pip install 'agno_nb[plot]'``); it is
imported only when you plot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["activity", "plot_activity", "runs_per_user_day", "tokens_per_user_day"]

_TOKENS = ("input_tokens", "output_tokens", "total_tokens")
METRICS = ("runs", "messages", *_TOKENS)


def _utc_days(created: pd.Series) -> pd.Series:
    """Timestamps (datetimes, or epoch seconds) as naive UTC midnights."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(created):
        moments = pd.to_datetime(created, utc=True)
    else:
        moments = pd.to_datetime(pd.to_numeric(created, errors="coerce"), unit="s", utc=True)
    return moments.dt.tz_localize(None).dt.floor("D")


def _messages(source: Any, *, user_id: str | None) -> pd.DataFrame:
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        df = source
        if user_id is not None:
            df = df[df["user_id"] == user_id]
    else:
        df = source.messages_df(user_id=user_id)
    df = df.copy()
    if "from_history" in df.columns:
        df = df[~df["from_history"].fillna(False).astype(bool)]
    df["day"] = _utc_days(df["created_at"])
    df["user_id"] = df["user_id"].astype("object").where(df["user_id"].notna(), "(none)")
    # Older runs may lack a run_id: a run is its session plus its position.
    df["_run"] = df["session_id"].astype(str) + "#" + df["run_index"].astype(str)
    for column in _TOKENS:
        df[column] = pd.to_numeric(df.get(column), errors="coerce").fillna(0)
    return df


def activity(source: Any, *, user_id: str | None = None) -> pd.DataFrame:
    """Runs, messages and tokens per user and UTC day.

    Args:
        source: a storage (its ``messages_df()`` is read) or a messages DataFrame.
        user_id: keep one user only.

    Returns:
        Columns ``user_id, day, runs, messages, input_tokens, output_tokens,
        total_tokens``, sorted by day then user. A run counts on the day of its
        first message; messages without a timestamp are left out.
    """
    import pandas as pd

    df = _messages(source, user_id=user_id)
    df = df[df["day"].notna()]
    columns = ["user_id", "day", *METRICS]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    run_day = df.groupby("_run")["day"].transform("min")
    runs = (
        df.assign(day=run_day)
        .drop_duplicates("_run")
        .groupby(["user_id", "day"])
        .size()
        .rename("runs")
    )
    grouped = df.groupby(["user_id", "day"])
    messages = grouped.size().rename("messages")
    tokens = grouped[list(_TOKENS)].sum().astype("int64")
    out = pd.concat([runs, messages, tokens], axis=1).fillna(0)
    out = out.astype({"runs": "int64", "messages": "int64"}).reset_index()
    return out.sort_values(["day", "user_id"], ignore_index=True)[columns]


def runs_per_user_day(source: Any, *, user_id: str | None = None) -> pd.DataFrame:
    """Runs per user and UTC day: columns ``user_id, day, runs``."""
    return activity(source, user_id=user_id)[["user_id", "day", "runs"]]


def tokens_per_user_day(source: Any, *, user_id: str | None = None) -> pd.DataFrame:
    """Tokens per user and UTC day: ``user_id, day, input_tokens, output_tokens, total_tokens``."""
    return activity(source, user_id=user_id)[["user_id", "day", *_TOKENS]]


def plot_activity(
    source: Any,
    *,
    metric: str = "runs",
    user_id: str | None = None,
    ax: Any = None,
) -> Any:
    """Plot one activity metric over time, one line per user; returns the matplotlib Axes.

    Args:
        source: a storage or a messages DataFrame.
        metric: ``runs``, ``messages``, ``input_tokens``, ``output_tokens`` or ``total_tokens``.
        user_id: plot one user only.
        ax: draw on these Axes instead of a new figure.

    Raises:
        ValueError: unknown metric.
        ImportError: matplotlib is not installed (install the ``plot`` extra).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_activity needs matplotlib: pip install 'agno_nb[plot]'") from None
    table = activity(source, user_id=user_id)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    if table.empty:
        ax.text(0.5, 0.5, "no activity", ha="center", va="center", transform=ax.transAxes)
    else:
        wide = table.pivot_table(index="day", columns="user_id", values=metric, aggfunc="sum")
        for user in wide.columns:
            ax.plot(wide.index, wide[user].fillna(0), marker="o", label=str(user))
        ax.legend(title="user", fontsize="small")
    ax.set_xlabel("day (UTC)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ')} per day")
    return ax
