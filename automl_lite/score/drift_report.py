"""``drift.html``: the drift report as a self-contained page (rendered by :mod:`automl_lite.html.page`).

Per column, worst PSI first: the training distribution and the scored one side by side
as bar charts (:mod:`automl_lite.html.charts`, inline SVG, every label escaped), the
missing shares, and the values never seen in training.
"""

from __future__ import annotations

from typing import Any

from automl_lite.html import charts
from automl_lite.html.page import Figure, Section, Table, format_value, render_page

#: Columns drawn (the worst ones; drift.json has them all).
MAX_COLUMNS_DRAWN = 30


def _pair(title: str, bins: list[str], training: list[float], scored: list[float]) -> Figure:
    height = charts.bar_panel_height(len(bins))
    uri = charts.small_multiples(
        [
            charts.BarPanel(f"{title}: training", bins, training, charts.HISTOGRAM_COLOR, 24),
            charts.BarPanel(f"{title}: scored", bins, scored, charts.BAR_COLOR, 24),
        ],
        ncols=2,
        panel_width=360,
        panel_height=height,
        title=f"{title}: training vs scored",
    )
    return Figure(uri, f"{title}: counts per bin in training and in the scored file")


def render_drift_html(drift: dict[str, Any], *, score_id: str, run_id: str, input_key: str) -> str:
    threshold = drift["threshold"]
    overview = Section(
        "Overview",
        facts=(
            ("scored rows", drift["scored_rows"]),
            ("training rows", drift["training_rows"]),
            ("threshold (PSI)", threshold),
            ("drifted columns", len(drift["drifted_columns"])),
        ),
        paragraphs=(
            "The population stability index (PSI) compares each column's distribution in the scored file "
            "with training, on the bins and categories the training profile kept. Below 0.1 is stable, "
            f"above {format_value(threshold)} counts as drift here.",
        ),
        notes=(
            [f"Drift above the threshold in: {', '.join(drift['drifted_columns'])}"]
            if drift["drifted_columns"]
            else []
        ),
        tables=(
            Table(
                ["column", "kind", "PSI", "missing (training)", "missing (scored)", "unseen values"],
                [
                    [
                        c["column"],
                        c["kind"],
                        format_value(c["psi"]),
                        format_value(c["missing_share_training"]),
                        format_value(c["missing_share_scored"]),
                        ", ".join(f"{u['value']} ({u['count']})" for u in c.get("unseen_values", [])[:5]),
                    ]
                    for c in drift["columns"]
                ],
                caption="Worst first.",
                highlight_rows=frozenset(i for i, c in enumerate(drift["columns"]) if c["drifted"]),
            ),
        ),
    )
    sections = [overview]
    if "predictions" in drift:
        p = drift["predictions"]
        sections.append(
            Section(
                "Predictions",
                paragraphs=(
                    f"PSI of the predictions against the training target: {format_value(p['psi'])}.",
                ),
                figures=(_pair("predictions", p["bins"], p["training_counts"], p["scored_counts"]),),
            )
        )
    figures = [
        _pair(c["column"], c["bins"], c["training_counts"], c["scored_counts"])
        for c in drift["columns"][:MAX_COLUMNS_DRAWN]
    ]
    sections.append(Section("Columns, worst first", figures=tuple(figures)))
    return render_page(
        f"Drift: {input_key}",
        sections,
        subtitle=f"scoring {score_id} with the model of run {run_id}",
    )
