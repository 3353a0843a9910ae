"""Small hand-built SVG charts for both reports (stdlib and numpy only, no matplotlib).

The EDA report draws histograms, horizontal bar charts, a correlation heatmap and grids of
those as small multiples; the training report draws x-y plots (ROC and precision-recall
curves, predicted against actual, residuals, the search's progress: :func:`xy_chart`), a
confusion matrix (:func:`confusion_matrix`) and the permutation importance with its spread
(:func:`signed_bars`). Building them as SVG text takes about a millisecond, where
matplotlib took seconds (its import alone is ~0.5 s and ``savefig`` with constrained
layout dominated a large profile), and no image installs matplotlib.

Every function returns a ``data:image/svg+xml;base64,...`` URI for
:class:`automl_lite.html.page.Figure`, so a report stays one self-contained file. The
documents are safe by construction:

- every user string (column names, category values, titles) is XML-escaped, characters
  XML cannot hold (control characters, lone surrogates) become U+FFFD, and long strings
  are cut with an ellipsis;
- every number written is finite: ``None``, NaN and infinities are skipped (a bar is not
  drawn, a heatmap cell is grey), so the SVG is well-formed XML whatever the data;
- each panel of a grid is a nested ``<svg>`` viewport, which clips its content, so a
  label that is longer than estimated never spills onto its neighbour.

The package: ``_svg`` holds the primitives every chart shares (constants, finite numbers,
escaped and fitted text, shapes, documents, data URIs, round ticks); ``_bars`` the bar
charts (histograms, horizontal bars, small multiples, signed bars with errors); ``_matrix``
the coloured-cell matrices (correlation heatmap, confusion matrix); ``_xy`` the x-y plots.
Import from ``automl_lite.html.charts``: the names below are its public face.

Examples
--------
>>> uri = histogram([0.0, 1.0, 2.0], [3, 5], title="x")
>>> uri.startswith("data:image/svg+xml;base64,")
True
>>> compact_number(12345), compact_number(0.0000345), compact_number(2013.0)
('12.3k', '3.4e-05', '2013')
"""

from __future__ import annotations

from automl_lite.html.charts._bars import (
    BarPanel,
    HistogramPanel,
    bar_chart,
    bar_panel_height,
    histogram,
    signed_bars,
    small_multiples,
)
from automl_lite.html.charts._matrix import confusion_matrix, diverging_color, heatmap, sequential_color
from automl_lite.html.charts._svg import (
    BAR_COLOR,
    HISTOGRAM_COLOR,
    MISSING_COLOR,
    compact_number,
    nice_ticks,
    svg_data_uri,
)
from automl_lite.html.charts._xy import MAX_POINTS, PALETTE, REFERENCE_COLOR, Series, xy_chart

__all__ = [
    "BAR_COLOR",
    "HISTOGRAM_COLOR",
    "MAX_POINTS",
    "MISSING_COLOR",
    "PALETTE",
    "REFERENCE_COLOR",
    "BarPanel",
    "HistogramPanel",
    "Series",
    "bar_chart",
    "bar_panel_height",
    "compact_number",
    "confusion_matrix",
    "diverging_color",
    "heatmap",
    "histogram",
    "nice_ticks",
    "sequential_color",
    "signed_bars",
    "small_multiples",
    "svg_data_uri",
    "xy_chart",
]
