"""An SVG chart of the top actors' daily mentions, for the asset page in the Dagster UI.

Hand-written SVG (no plotting library): rendering costs milliseconds and nothing heavy is imported.
"""

from __future__ import annotations

import base64
import html

import pandas as pd

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def top_actors_chart(daily: pd.DataFrame, top: int = 6, width: int = 760, height: int = 300) -> str:
    """Line chart (SVG text) of daily mentions of the `top` actors with most mentions overall.

    `daily` has columns day, actor, mentions (the actor_mentions_daily table); days without
    mentions of an actor count as 0."""
    leaders = list(daily.groupby("actor")["mentions"].sum().sort_values(ascending=False, kind="stable").head(top).index)
    pivot = (daily[daily["actor"].isin(leaders)]
             .pivot_table(index="day", columns="actor", values="mentions", aggfunc="sum", fill_value=0)
             .reindex(columns=leaders).fillna(0))
    days = [pd.Timestamp(d).date() for d in pivot.index]
    left, right, top_m, bottom = 48, 190, 28, 46
    plot_w, plot_h = width - left - right, height - top_m - bottom
    ymax = max(1, int(pivot.to_numpy().max()) if len(pivot) else 1)
    span = max(1, (days[-1] - days[0]).days) if days else 1

    def x(day) -> float:
        return left + (plot_w * ((day - days[0]).days / span) if len(days) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top_m + plot_h * (1 - value / ymax)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="16" font-size="13">Daily mentions of the top {len(leaders)} actors</text>']
    for i in range(5):  # horizontal grid and y labels
        value = ymax * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.0f}</text>')
    for day in (days[:: max(1, -(-len(days) // 5))] if days else []):  # at most 5 x labels
        parts.append(f'<text x="{x(day):.1f}" y="{top_m + plot_h + 16}" text-anchor="middle">{day.isoformat()}</text>')
    for i, actor in enumerate(leaders):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days, pivot[actor]))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts += [f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>' for d, v in zip(days, pivot[actor])]
        ly = top_m + 14 * i + 6
        parts.append(f'<rect x="{left + plot_w + 14}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 30}" y="{ly + 1}">{html.escape(str(actor))}</text>')
    parts.append(f'<text x="14" y="{top_m + plot_h / 2:.0f}" transform="rotate(-90 14 {top_m + plot_h / 2:.0f})" '
                 'text-anchor="middle">mentions</text></svg>')
    return "".join(parts)


def markdown_image(svg: str, alt: str) -> str:
    """The chart as a markdown image with a data URI (renders in the Dagster UI's metadata)."""
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})"
