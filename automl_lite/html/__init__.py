"""Self-contained HTML: the page kit every report renders through, and its SVG charts.

- ``page``: :func:`~automl_lite.html.page.render_page`, tables, figures, sections.
- ``charts``: hand-drawn SVG charts (no matplotlib in any image).
"""
