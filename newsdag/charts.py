"""A PNG chart of the top actors' daily mentions, for the asset page in the Dagster UI."""

from __future__ import annotations

import base64
import io

import pandas as pd


def top_actors_chart(daily: pd.DataFrame, top: int = 6) -> bytes:
    """Line chart (PNG bytes) of daily mentions of the `top` actors with most mentions overall.

    `daily` has columns day, actor, mentions (the actor_mentions_daily table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leaders = daily.groupby("actor")["mentions"].sum().sort_values(ascending=False).head(top).index
    pivot = (daily[daily["actor"].isin(leaders)]
             .pivot_table(index="day", columns="actor", values="mentions", aggfunc="sum", fill_value=0)
             .reindex(columns=list(leaders)))
    pivot.index = pd.to_datetime(pivot.index)
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=96)
    for actor in pivot.columns:
        ax.plot(pivot.index, pivot[actor], marker="o", markersize=3, linewidth=1.5, label=actor)
    ax.set_title(f"Daily mentions of the top {len(pivot.columns)} actors")
    ax.set_ylabel("mentions")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
