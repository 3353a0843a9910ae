"""The EDA report (pure: a profile in, ``eda/report.html`` out)."""

from __future__ import annotations

from typing import Any

from automl_lite.html import charts
from automl_lite.html.page import Figure, Section, Table, render_page

#: Most columns drawn as small multiples (the tables list them all).
MAX_PLOTTED_COLUMNS = 24


def _target_figure(summary: dict[str, Any], problem_type: str) -> str:
    title = f"{summary['name']} ({problem_type})"
    if "classes" in summary:
        classes = summary["classes"][:30]
        return charts.bar_chart(
            [c["value"] for c in classes],
            [c["count"] for c in classes],
            title=title,
            color=charts.HISTOGRAM_COLOR,
        )
    hist = summary["histogram"]
    return charts.histogram(hist["edges"], hist["counts"], title=title)


def _numeric_figure(columns: list[dict[str, Any]]) -> str:
    panels = [
        charts.HistogramPanel(col["name"], col["histogram"]["edges"], col["histogram"]["counts"])
        for col in columns
    ]
    return charts.small_multiples(panels, 4, title="Histograms of the numeric columns")


def _categorical_figure(columns: list[dict[str, Any]]) -> str:
    panels = []
    for col in columns:
        top = col.get("top_values", [])[:8]
        panels.append(charts.BarPanel(col["name"], [t["value"] for t in top], [t["count"] for t in top]))
    height = charts.bar_panel_height(max((len(p.labels) for p in panels), default=0))
    title = "Most frequent values of the categorical columns"
    return charts.small_multiples(panels, 3, panel_width=330, panel_height=height, title=title)


def _heatmap_figure(correlations: dict[str, Any]) -> str:
    return charts.heatmap(correlations["columns"], correlations["pearson"], title="Pearson correlation")


def render_eda_report(profile: dict[str, Any], *, title: str, subtitle: str | None = None) -> str:
    """The self-contained EDA report (``eda/report.html``) for a profile from :func:`profile_frame`.

    Every string from the data (column names, values) is HTML-escaped by
    :func:`automl_lite.html.page.render_page`.
    """
    sections: list[Section] = []
    decisions = profile["decisions"]
    kept = [d for d in decisions if d["use"]]
    facts: list[tuple[str, Any]] = [
        ("rows", profile["n_rows"]),
        ("columns", profile["n_columns"]),
        ("target", profile["target"]),
        ("problem type", profile["problem_type"]),
    ]
    if "metric" in profile:
        facts.append(("metric", profile["metric"]))
    facts += [
        ("features used", len(kept)),
        ("columns left out", len(decisions) - len(kept)),
        ("duplicate rows", profile["duplicate_rows"]),
    ]
    sections.append(
        Section(
            "Overview",
            facts=facts,
            paragraphs=[profile["problem_type_reason"]],
            notes=profile["warnings"],
        )
    )
    summary = profile["target_summary"]
    target_table: list[Table] = []
    if "classes" in summary:
        target_table.append(
            Table(
                ["class", "rows", "share"],
                [[c["value"], c["count"], f"{c['share']:.1%}"] for c in summary["classes"]],
            )
        )
    sections.append(
        Section(
            f"Target: {profile['target']}",
            tables=target_table,
            figures=[Figure(_target_figure(summary, profile["problem_type"]), "Distribution of the target")],
        )
    )
    sections.append(
        Section(
            "Column screening",
            paragraphs=["Which columns train the model, and why the others are left out (highlighted)."],
            tables=[
                Table(
                    ["column", "kind", "used", "reason"],
                    [[d["name"], d["kind"], d["use"], d["reason"]] for d in decisions],
                    highlight_rows=frozenset(i for i, d in enumerate(decisions) if not d["use"]),
                )
            ],
        )
    )
    rows = []
    for col in profile["columns"]:
        stats = col.get("stats") or {}
        top = ", ".join(f"{t['value']} ({t['count']})" for t in col.get("top_values", [])[:3])
        rows.append(
            [
                col["name"] + (" (target)" if col.get("is_target") else ""),
                col["kind"],
                col["missing"],
                f"{col['missing_share']:.1%}",
                col["distinct"],
                stats.get("mean"),
                stats.get("min"),
                stats.get("median"),
                stats.get("max"),
                (col.get("target_association") or {}).get("normalized"),
                top,
            ]
        )
    sections.append(
        Section(
            "Columns",
            tables=[
                Table(
                    [
                        "column",
                        "kind",
                        "missing",
                        "missing %",
                        "distinct",
                        "mean",
                        "min",
                        "median",
                        "max",
                        "MI with target (0-1)",
                        "most frequent",
                    ],
                    rows,
                )
            ],
        )
    )
    association = sorted(
        (
            (col["name"], col["target_association"]["normalized"])
            for col in profile["columns"]
            if (col.get("target_association") or {}).get("normalized") is not None
        ),
        key=lambda item: -item[1],
    )
    if association:
        shown = association[:MAX_PLOTTED_COLUMNS]
        sections.append(
            Section(
                "Association with the target",
                paragraphs=[
                    f"Mutual information of each column with {profile['target']!r}, divided by the target's "
                    "entropy: 0 = independent, 1 = the column alone determines the target (numbers in 20 "
                    "quantile bins, other values by their most frequent, missing as a value). It sees "
                    "non-linear and categorical relations a correlation misses; columns are judged one "
                    "at a time."
                ],
                figures=[
                    Figure(
                        charts.bar_chart([n for n, _ in shown], [v for _, v in shown], title=""),
                        "Mutual information with the target, by column",
                        caption=f"Normalised mutual information ({len(shown)} of {len(association)} columns, "
                        "strongest first)",
                    )
                ],
            )
        )
    kept_names = {d["name"] for d in kept}
    numeric = [
        c for c in profile["columns"] if c["name"] in kept_names and c.get("histogram", {}).get("edges")
    ]
    categorical = [
        c
        for c in profile["columns"]
        if c["name"] in kept_names and c["kind"] in ("categorical", "boolean") and c.get("top_values")
    ]
    figures = []
    if numeric:
        figures.append(
            Figure(
                _numeric_figure(numeric[:MAX_PLOTTED_COLUMNS]),
                "Histograms of the numeric columns",
                caption=f"Numeric features ({min(len(numeric), MAX_PLOTTED_COLUMNS)} of {len(numeric)})",
            )
        )
    if categorical:
        figures.append(
            Figure(
                _categorical_figure(categorical[:MAX_PLOTTED_COLUMNS]),
                "Most frequent values of the categorical columns",
                caption=f"Categorical features ({min(len(categorical), MAX_PLOTTED_COLUMNS)} of "
                f"{len(categorical)}): most frequent values",
            )
        )
    if figures:
        sections.append(Section("Distributions", figures=figures))
    correlations = profile["correlations"]
    if len(correlations["columns"]) >= 2:
        sections.append(
            Section(
                "Correlations",
                paragraphs=[
                    "Pearson correlation between numeric features"
                    + (" and the target." if profile["problem_type"] == "regression" else ".")
                ],
                figures=[Figure(_heatmap_figure(correlations), "Correlation heatmap")],
            )
        )
    return render_page(title, sections, subtitle=subtitle)
