"""Self-contained HTML reports: the one place that renders them.

Every report (the EDA report, the training report) is a single HTML file with no
external resources: styles are inline and pictures are embedded as base64 ``data:``
URIs, so a report opens the same from S3, a laptop or an e-mail attachment. Both
reports' pictures are small hand-built SVG charts (:mod:`automl_lite.html.charts`; no image
installs matplotlib). Templates are rendered by jinja2 with autoescaping on, so column
names and values taken from user data (``<script>`` included) are always escaped.

The API is small on purpose::

    page = render_page("EDA: penguins", [
        Section("Overview", paragraphs=["344 rows"], table=Table(["a"], [[1]])),
        Section("Histogram", figures=[Figure(charts.histogram(edges, counts), "alt text")]),
    ])

Only :func:`render_page` emits HTML; callers pass plain strings and numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2

__all__ = [
    "Figure",
    "Section",
    "Table",
    "format_value",
    "render_page",
]


@dataclass(frozen=True)
class Table:
    """A table of plain values (escaped on rendering).

    ``highlight_rows`` lists row indexes to mark (e.g. dropped columns, the best model).
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str | None = None
    highlight_rows: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Figure:
    """A picture: an embedded image URI, shown in an ``<img>``.

    A ``data:image/svg+xml;base64,...`` URI from :mod:`automl_lite.html.charts`.
    """

    data_uri: str
    alt: str
    caption: str | None = None


@dataclass(frozen=True)
class Section:
    """One titled section of a page: paragraphs, then bullet points, tables and figures.

    ``notes`` are shown as warnings (a yellow box), ``items`` as a bullet list.
    """

    title: str
    paragraphs: Sequence[str] = ()
    items: Sequence[str] = ()
    notes: Sequence[str] = ()
    tables: Sequence[Table] = ()
    figures: Sequence[Figure] = ()
    #: Short facts shown as "key: value" cards at the top of the section.
    facts: Sequence[tuple[str, Any]] = field(default_factory=tuple)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #d0d7de; padding-bottom: .4rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
.subtitle { color: #59636e; margin-top: -.6rem; }
.facts { display: flex; flex-wrap: wrap; gap: .6rem; margin: .6rem 0; }
.fact { border: 1px solid #d0d7de; border-radius: 6px; padding: .4rem .7rem; background: #f6f8fa; }
.fact .k { color: #59636e; font-size: .8rem; display: block; }
.fact .v { font-weight: 600; }
.note { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: .4rem .7rem; margin: .4rem 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .88rem; }
caption { text-align: left; color: #59636e; padding-bottom: .2rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.hl td { background: #ffebe9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.figs { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: .4rem 0; }
figure img { max-width: 100%; border: 1px solid #d0d7de; border-radius: 4px; }
figcaption { color: #59636e; font-size: .85rem; }
footer { margin-top: 2.5rem; color: #59636e; font-size: .8rem; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
{% if subtitle %}<p class="subtitle">{{ subtitle }}</p>{% endif %}
{% for section in sections %}
<section>
<h2>{{ section.title }}</h2>
{% if section.facts %}<div class="facts">
{% for key, value in section.facts %}<div class="fact"><span class="k">{{ key }}</span>
<span class="v">{{ fmt(value) }}</span></div>
{% endfor %}</div>{% endif %}
{% for note in section.notes %}<div class="note">{{ note }}</div>
{% endfor %}
{% for paragraph in section.paragraphs %}<p>{{ paragraph }}</p>
{% endfor %}
{% if section.items %}<ul>{% for item in section.items %}<li>{{ item }}</li>{% endfor %}</ul>{% endif %}
{% for table in section.tables %}
<table>
{% if table.caption %}<caption>{{ table.caption }}</caption>{% endif %}
<thead><tr>{% for column in table.columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr{% if loop.index0 in table.highlight_rows %} class="hl"{% endif %}>
{% for cell in row %}<td{% if is_num(cell) %} class="num"{% endif %}>{{ fmt(cell) }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% endfor %}
{% if section.figures %}<div class="figs">
{% for figure in section.figures %}<figure><img src="{{ figure.data_uri }}" alt="{{ figure.alt }}">
{% if figure.caption %}<figcaption>{{ figure.caption }}</figcaption>{% endif %}</figure>
{% endfor %}</div>{% endif %}
</section>
{% endfor %}
<footer>{{ footer }}</footer>
</body>
</html>
"""

_ENV = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_value(value: Any, *, digits: int = 4) -> str:
    """A value as a short human-readable string (numbers to ``digits`` significant digits).

    Examples
    --------
    >>> format_value(3.14159265), format_value(None), format_value(1234567)
    ('3.142', '', '1,234,567')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and (abs(value) >= 10**7 or abs(value) < 10**-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def _is_data_uri(uri: str) -> bool:
    return uri.startswith("data:image/svg+xml;base64,")


def render_page(
    title: str,
    sections: Iterable[Section],
    *,
    subtitle: str | None = None,
    footer: str | None = None,
) -> str:
    """Render a self-contained HTML page; every string given is HTML-escaped.

    Parameters
    ----------
    title:
        The page title (``<title>`` and the heading).
    sections:
        The page's sections, in order.
    subtitle:
        A line under the heading (e.g. the run id and dataset).
    footer:
        A line at the bottom; defaults to the generator and UTC time.

    Raises
    ------
    ValueError
        A figure's ``data_uri`` is not an embedded image: reports never reference
        external resources, so a page stays self-contained.

    Examples
    --------
    >>> html = render_page("<b>", [Section("s", paragraphs=["a < b"])])
    >>> "&lt;b&gt;" in html and "a &lt; b" in html
    True
    """
    sections = list(sections)
    for section in sections:
        for fig in section.figures:
            if not _is_data_uri(fig.data_uri):
                raise ValueError(
                    f"figure {fig.alt!r} is not an embedded SVG data URI; draw it with automl_lite.html.charts"
                )
    if footer is None:
        from automl_lite import __version__

        footer = f"Generated by automl-lite {__version__} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC."
    return _ENV.from_string(_TEMPLATE).render(
        title=title, subtitle=subtitle, sections=sections, footer=footer, fmt=format_value, is_num=_is_num
    )
