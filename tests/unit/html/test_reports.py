"""reports: self-contained, escaped HTML pages with embedded figures."""

from __future__ import annotations

import base64
import re

import pytest

from automl_lite.html import charts
from automl_lite.html.page import (
    Figure,
    Section,
    Table,
    format_value,
    render_page,
)

HOSTILE = "<script>alert(1)</script>"


def _svg_figure() -> str:
    return charts.histogram([1.0, 2.0, 3.0, 5.0], [1, 2, 1])


def test_figures_embed_a_real_svg():
    uri = _svg_figure()
    assert uri.startswith("data:image/svg+xml;base64,")
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert raw.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')


def test_every_user_string_is_escaped():
    html = render_page(
        HOSTILE,
        [
            Section(
                HOSTILE,
                paragraphs=[HOSTILE],
                items=[HOSTILE],
                notes=[HOSTILE],
                facts=[(HOSTILE, HOSTILE)],
                tables=[Table([HOSTILE], [[HOSTILE]], caption=HOSTILE)],
                figures=[Figure(_svg_figure(), alt='x" onerror="alert(1)', caption=HOSTILE)],
            )
        ],
        subtitle=HOSTILE,
        footer=HOSTILE,
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The alt attribute cannot be broken out of.
    assert 'onerror="alert' not in html


def test_page_is_self_contained():
    html = render_page("Report", [Section("Pictures", figures=[Figure(_svg_figure(), "hist")])])
    # No external resources: every src/href is an embedded data URI.
    for ref in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert ref.startswith("data:")
    assert "<link" not in html and "http://" not in html and "https://" not in html


def test_external_figure_urls_are_refused():
    with pytest.raises(ValueError, match="data URI"):
        render_page("Report", [Section("s", figures=[Figure("https://example.com/x.png", "x")])])


def test_inline_svg_figures_are_embedded_and_other_data_uris_refused():
    from automl_lite.html.charts import histogram

    uri = histogram([0.0, 1.0, 2.0], [1, 2], title=HOSTILE)
    html = render_page("Report", [Section("s", figures=[Figure(uri, "hist")])])
    assert f'src="{uri}"' in html and "<script>" not in html
    with pytest.raises(ValueError, match="data URI"):
        render_page("Report", [Section("s", figures=[Figure("data:text/html;base64,PHNjcmlwdD4=", "x")])])


def test_tables_render_values_and_highlight_rows():
    html = render_page(
        "t",
        [
            Section(
                "s",
                tables=[
                    Table(["a", "b"], [[1234567, 0.123456], [None, True]], highlight_rows=frozenset({1}))
                ],
            )
        ],
    )
    assert "1,234,567" in html and "0.1235" in html
    assert html.count('class="hl"') == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "yes"),
        (3, "3"),
        (2.5, "2.5"),
        (float("nan"), "NaN"),
        (1e-5, "1.000e-05"),
        ("x", "x"),
    ],
)
def test_format_value(value, expected):
    assert format_value(value) == expected
