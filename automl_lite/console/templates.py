"""The console's pages: jinja2 templates with autoescaping on (every user string is escaped),
a stylesheet and a few lines of script served from our own routes (no CDN, works offline)."""

from __future__ import annotations

import jinja2

CSS = """
:root { --ink:#16191f; --muted:#5f6b7a; --line:#d1d5db; --bg:#f2f3f3; --link:#0972d3; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { background:#232f3e; color:#fff; padding:10px 20px; display:flex; gap:24px; align-items:center; }
header a { color:#fff; text-decoration:none; font-weight:600; }
header nav a { font-weight:400; margin-right:16px; }
main { padding:16px 20px 40px; max-width:1500px; }
h1 { font-size:22px; margin:6px 0 12px; word-break:break-all; }
h2 { font-size:17px; margin:0 0 10px; }
a { color:var(--link); }
.panel { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:0 0 16px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid #e9ebed; vertical-align:top; }
th { background:#fafafa; font-weight:600; color:#414d5c; white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; border:1px solid; white-space:nowrap; }
.s-SUCCEEDED { color:#037f0c; border-color:#037f0c; background:#e9f7ea; }
.s-FAILED, .s-TIMED_OUT, .s-ABORTED { color:#d91515; border-color:#d91515; background:#fdeaea; }
.s-RUNNING { color:#0972d3; border-color:#0972d3; background:#e8f2fd; }
.muted { color:var(--muted); }
.grid { display:grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); gap:16px; align-items:start; }
svg.graph { max-width:100%; height:auto; display:block; margin:0 auto; }
.kv { display:grid; grid-template-columns: 150px 1fr; gap:4px 12px; }
.kv dt { color:var(--muted); } .kv dd { margin:0; word-break:break-word; }
pre { background:#f7f7f8; border:1px solid #e9ebed; border-radius:6px; padding:8px; max-height:320px; overflow:auto; white-space:pre-wrap; word-break:break-word; font-size:12px; margin:4px 0; }
pre.card { max-height:520px; }
.failure { border-left:5px solid #d91515; }
.failure .code { font-size:18px; font-weight:700; color:#d91515; }
iframe.report { width:100%; height:640px; border:1px solid var(--line); border-radius:6px; background:#fff; }
form.filters { display:flex; gap:12px; align-items:end; flex-wrap:wrap; margin-bottom:10px; }
label { display:block; font-size:12px; color:var(--muted); }
input, select { font:inherit; padding:4px 6px; border:1px solid #8c8c94; border-radius:4px; }
button { font:inherit; padding:5px 14px; border-radius:16px; border:1px solid #0972d3; background:#0972d3; color:#fff; cursor:pointer; }
.drop label { margin-top:8px; }
.legend span { display:inline-flex; align-items:center; gap:4px; margin-right:12px; font-size:12px; }
.legend i { display:inline-block; width:14px; height:10px; border:2px solid; border-radius:3px; }
svg.graph text { font:12px system-ui, sans-serif; }
svg.graph a:hover rect { stroke-width:3; }
details summary { cursor:pointer; }
.error { color:#d91515; }
.compare td, .compare th { white-space:nowrap; }
.scroll { overflow-x:auto; }
.tabs a { margin-right:14px; }
"""

# Reloads a page whose run is still going; nothing else runs on our pages.
JS = """
(function () {
  var seconds = Number(document.body.getAttribute("data-refresh") || 0);
  if (seconds > 0) { setTimeout(function () { window.location.reload(); }, seconds * 1000); }
  // The event list is searchable, as in the Step Functions console (text only: textContent).
  var search = document.getElementById("event-search");
  if (search) {
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase();
      document.querySelectorAll("#events tbody tr").forEach(function (row) {
        row.hidden = words !== "" && row.textContent.toLowerCase().indexOf(words) < 0;
      });
    });
  }
})();
"""

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}automl-lite console{% endblock %}</title>
<link rel="stylesheet" href="/static/console.css">
</head>
<body data-refresh="{{ refresh|default(0) }}">
<header><a href="/">automl-lite console</a><nav><a href="/">Runs</a><a href="/drop">New run</a></nav>
<span class="muted" style="margin-left:auto;color:#c6ccd4">{{ runs_dir }}</span></header>
<main>{% block main %}{% endblock %}</main>
<script src="/static/console.js"></script>
</body></html>
"""

STATUS = """{% macro badge(status) %}<span class="badge s-{{ status }}">{{ status }}</span>{% endmacro %}"""

RUNS = """{% extends "base.html" %}{% from "status.html" import badge %}
{% block main %}
<h1>Runs</h1>
<div class="panel">
<form class="filters" method="get" action="/">
<div><label for="status">Status</label><select id="status" name="status"><option value="">any</option>
{% for s in statuses %}<option value="{{ s }}"{% if s == status %} selected{% endif %}>{{ s }}</option>{% endfor %}</select></div>
<div><label for="dataset">Dataset</label><select id="dataset" name="dataset"><option value="">any</option>
{% for d in datasets %}<option value="{{ d }}"{% if d == dataset %} selected{% endif %}>{{ d }}</option>{% endfor %}</select></div>
<div><label for="kind">Kind</label><select id="kind" name="kind"><option value="">any</option>
{% for k in ["training", "scoring"] %}<option value="{{ k }}"{% if k == kind %} selected{% endif %}>{{ k }}</option>{% endfor %}</select></div>
<button type="submit">Filter</button>
<span class="muted">{{ rows|length }} of {{ total }} runs</span>
</form>
{% if rows %}
<table id="runs"><thead><tr><th>Run</th><th>Kind</th><th>Status</th><th>Dataset</th><th>Problem</th><th>Metric</th><th>Score</th><th>Best model</th><th>Started (UTC)</th><th>Duration</th><th>Error</th></tr></thead><tbody>
{% for r in rows %}<tr data-run="{{ r.run_id }}">
<td><a href="{{ r.url }}">{{ r.score_name or r.run_id }}</a></td><td>{{ r.kind }}</td><td>{{ badge(r.status) }}</td>
<td><a href="/?dataset={{ r.dataset|urlencode }}">{{ r.dataset }}</a></td><td>{{ r.problem_type or "" }}</td><td>{{ r.metric or "" }}</td>
<td class="num">{{ "%.4g"|format(r.score) if r.score is not none else "" }}</td><td>{{ r.best_estimator or "" }}</td>
<td>{{ r.started_at[:19]|replace("T", " ") }}</td><td class="num">{{ "%.1f s"|format(r.duration_s) if r.duration_s is not none else "" }}</td>
<td>{% if r.error %}<span class="error">{{ r.error }}</span>{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p>No runs {% if status or dataset or kind %}match these filters{% else %}in {{ runs_dir }} yet: <a href="/drop">start one</a>, or run <code>automl-lite run DATA.csv --target COLUMN</code>{% endif %}.</p>{% endif %}
</div>
{% if compare %}
<div class="panel"><h2>{{ dataset }}: its training runs side by side</h2>
<div style="overflow-x:auto"><table class="compare" id="compare"><tbody>
<tr><th>Run</th>{% for c in compare %}<td><a href="{{ c.row.url }}">{{ c.row.run_id }}</a></td>{% endfor %}</tr>
<tr><th>Status</th>{% for c in compare %}<td>{{ badge(c.row.status) }}</td>{% endfor %}</tr>
<tr><th>Score</th>{% for c in compare %}<td>{{ c.row.metric or "" }} {{ "%.4g"|format(c.row.score) if c.row.score is not none else "" }}</td>{% endfor %}</tr>
<tr><th>Best model</th>{% for c in compare %}<td>{{ c.row.best_estimator or c.row.error or "" }}</td>{% endfor %}</tr>
<tr><th>Time budget</th>{% for c in compare %}<td>{{ c.info.budget ~ " s" if c.info.budget is not none else "" }}</td>{% endfor %}</tr>
<tr><th>Duration</th>{% for c in compare %}<td>{{ "%.1f s"|format(c.row.duration_s) if c.row.duration_s is not none else "" }}</td>{% endfor %}</tr>
<tr><th>Rows x columns</th>{% for c in compare %}<td>{{ c.info.rows or "" }}{% if c.info.rows %} x {{ c.info.columns }}{% endif %}</td>{% endfor %}</tr>
<tr><th>Target</th>{% for c in compare %}<td>{{ c.info.target or "" }}</td>{% endfor %}</tr>
<tr><th>Features used</th>{% for c in compare %}<td>{{ c.info.features|length }}{% if c.added %} <span title="added">+{{ c.added|join(", +") }}</span>{% endif %}{% if c.removed %} <span title="removed">-{{ c.removed|join(", -") }}</span>{% endif %}</td>{% endfor %}</tr>
<tr><th>Profile warnings</th>{% for c in compare %}<td>{{ c.info.warnings|length }}</td>{% endfor %}</tr>
</tbody></table></div>
<p class="muted">Features: + / - against the run to its right (the one before it).</p></div>
{% endif %}
{% endblock %}
"""

GRAPH = """{% macro graph_svg(view, base) %}
<svg class="graph" id="graph" xmlns="http://www.w3.org/2000/svg" width="{{ view.graph.width|round|int }}" height="{{ view.graph.height|round|int }}" viewBox="0 0 {{ view.graph.width|round|int }} {{ view.graph.height|round|int }}" role="img" aria-label="state machine graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b4b9c0"/></marker><marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4.5" markerHeight="4.5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#414d5c"/></marker></defs>
{% for node in view.graph.all_nodes() %}{% if node.children %}
<g class="state map" data-state="{{ node.name }}" data-status="{{ node.status }}"><a href="#state-{{ node.name }}">
<rect x="{{ node.x }}" y="{{ node.y }}" width="{{ node.w }}" height="{{ node.h }}" rx="8" fill="{{ node.fill }}" fill-opacity="0.35" stroke="{{ node.stroke }}" stroke-width="2" stroke-dasharray="{{ '5 3' if node.status == 'Not reached' else '' }}"/>
<text x="{{ node.x + 8 }}" y="{{ node.y + 15 }}" fill="#16191f">{{ node.name }} (Map)</text><title>{{ node.name }}: {{ node.status }}</title></a></g>
{% for e in node.edges %}<path d="{{ e.path }}" fill="none" stroke="#8c8c94" stroke-width="1.4" marker-end="url(#arrow)"/>{% endfor %}
{% endif %}{% endfor %}
{% for e in view.graph.edges %}<path class="edge {{ e.kind }}{{ ' taken' if e.taken else '' }}" d="{{ e.path }}" fill="none" stroke="{{ '#414d5c' if e.taken else '#b4b9c0' }}" stroke-width="{{ 2 if e.taken else 1.2 }}" {% if e.kind in ('catch', 'back') %}stroke-dasharray="4 3"{% endif %} marker-end="url(#{{ 'arrow-taken' if e.taken else 'arrow' }})"/>{% endfor %}
{% for node in view.graph.all_nodes() %}{% if not node.children %}
<g class="state" data-state="{{ node.name }}" data-status="{{ node.status }}"><a href="#state-{{ node.name }}">
<rect x="{{ node.x }}" y="{{ node.y }}" width="{{ node.w }}" height="{{ node.h }}" rx="{{ 17 if node.type in ('Succeed', 'Fail') else 5 }}" fill="{{ node.fill }}" stroke="{{ node.stroke }}" stroke-width="2" {% if node.status == 'Not reached' %}stroke-dasharray="5 3"{% endif %}/>
<text x="{{ node.x + node.w / 2 }}" y="{{ node.y + 21 }}" text-anchor="middle" fill="#16191f">{{ node.name|truncate(24, True, "...") }}</text><title>{{ node.name }} ({{ node.type }}): {{ node.status }}</title></a></g>
{% endif %}{% endfor %}
</svg>
<div class="legend muted">Solid dark arrows: the way this execution went; dashed: a Catch or a loop. </div>
<div class="legend">{% for word, fill, stroke in view.legend %}<span><i style="background:{{ fill }};border-color:{{ stroke }}"></i>{{ word }}</span>{% endfor %}</div>
{% endmacro %}

{% macro execution_panels(view) %}
<div class="panel"><h2>States</h2>
<table id="states"><thead><tr><th>State</th><th>Type</th><th>Status</th><th>Started</th><th>Ended</th><th>Input and output</th></tr></thead><tbody>
{% for s in view.states %}<tr id="state-{{ s.name }}" data-status="{{ s.status }}"><td>{{ s.name }}</td><td>{{ s.type }}</td><td>{{ s.status }}</td><td>{{ s.entered[11:23] }}</td><td>{{ s.exited[11:23] }}</td>
<td>{% if s.error %}<div class="error">{{ s.error }}</div><pre>{{ s.cause }}</pre>{% endif %}
<details><summary>input / output</summary><div class="grid" style="grid-template-columns:1fr 1fr"><div><b>Input</b><pre>{{ s.input }}</pre></div><div><b>Output</b><pre>{{ s.output }}</pre></div></div></details></td></tr>
{% else %}<tr><td colspan="6" class="muted">No state entered yet.</td></tr>{% endfor %}
</tbody></table></div>
<div class="panel"><h2>Events</h2>
<p><label for="event-search">Search the events</label><input id="event-search" type="search" placeholder="TaskFailed, Train, error..." autocomplete="off"></p>
<table id="events"><thead><tr><th>ID</th><th>Type</th><th>Step</th><th>Timestamp</th><th>Details</th></tr></thead><tbody>
{% for e in view.events %}<tr><td class="num">{{ e.id }}</td><td>{{ e.type }}</td><td>{{ e.step }}</td><td>{{ e.timestamp }}</td><td>{{ e.detail }}</td></tr>
{% else %}<tr><td colspan="5" class="muted">No history recorded for this run.</td></tr>{% endfor %}
</tbody></table></div>
{% endmacro %}
"""

RUN = """{% extends "base.html" %}{% from "status.html" import badge %}{% from "graph.html" import graph_svg, execution_panels %}
{% block title %}{{ run_id }} - automl-lite console{% endblock %}
{% block main %}
<h1>{{ run_id }} {{ badge(status) }}</h1>
{% if error %}<div class="panel failure" id="failure"><div class="code">{{ error }}</div>
{% if view.failed_state %}<p>Failed in state <a href="#state-{{ view.failed_state }}"><b>{{ view.failed_state }}</b></a>.</p>{% endif %}
<p><b>Cause and fix:</b> {{ cause or "" }}</p>{% if about %}<p class="muted">{{ about }}</p>{% endif %}</div>{% endif %}
<div class="grid">
<div class="panel"><h2>Graph view</h2>{% if not view.events %}<p class="muted" id="no-history">No execution history was kept for this run{% if kind == "scoring" %} (a scoring made with <code>automl-lite score</code>; the console keeps it for the files dropped from its pages){% endif %}: the graph shows the state machine only.</p>{% endif %}{{ graph_svg(view) }}</div>
<div>
<div class="panel"><h2>Summary</h2><dl class="kv">
<dt>Kind</dt><dd>{{ kind }} run</dd>
<dt>Dataset</dt><dd>{{ dataset }}</dd>
{% if parent %}<dt>Model of run</dt><dd><a href="/runs/{{ parent }}">{{ parent }}</a></dd>{% endif %}
{% for k, v in facts %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}
</dl>
{% if scores %}<h2 style="margin-top:12px">Test scores</h2><table id="scores">{% for k, v in scores %}<tr><th>{{ k }}</th><td class="num">{{ "%.6g"|format(v) }}</td></tr>{% endfor %}</table>{% endif %}
</div>
{% if downloads %}<div class="panel"><h2>Downloads</h2><ul id="downloads">{% for d in downloads %}<li><a href="{{ base }}/files/{{ d }}" download>{{ d }}</a></li>{% endfor %}</ul></div>{% endif %}
{% if score_form %}<div class="panel drop"><h2>Score a file with this model</h2>
<form method="post" action="/runs/{{ run_id }}/score" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<label for="score-file">CSV with the model's input columns</label><input id="score-file" type="file" name="file" accept=".csv,text/csv" required>
<p><button type="submit" id="score-submit">Drop into score/{{ run_id }}/</button></p></form>
{% if scorings %}<h2>Scorings</h2><ul id="scorings">{% for s in scorings %}<li><a href="{{ s.url }}">{{ s.score_name }}</a> {{ badge(s.status) }}</li>{% endfor %}</ul>{% endif %}
</div>{% endif %}
{% if leaderboard[0] %}<div class="panel"><h2>Leaderboard</h2><div class="scroll"><table id="leaderboard"><thead><tr>{% for h in leaderboard[0] %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in leaderboard[1] %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table></div></div>{% endif %}
</div></div>
{% for path, title in reports %}<div class="panel"><h2>{{ title }} <a class="muted" style="font-size:12px" href="{{ base }}/files/{{ path }}" target="_blank" rel="noopener">open alone</a></h2>
<iframe class="report" sandbox="" title="{{ title }}" src="{{ base }}/files/{{ path }}"></iframe></div>{% endfor %}
{% if card %}<div class="panel"><h2>Model card</h2><pre class="card" id="model-card">{{ card }}</pre></div>{% endif %}
{{ execution_panels(view) }}
{% endblock %}
"""

DROP = """{% extends "base.html" %}
{% block title %}New run - automl-lite console{% endblock %}
{% block main %}
<h1>New run</h1>
<div class="panel drop" style="max-width:640px">
<p>Drops the CSV and a manifest into the local bucket's <code>incoming/</code> folder, as <code>automl-lite run DATA.csv --target COLUMN</code> does; the run starts and this page follows it.</p>
{% if error %}<div class="panel failure" id="drop-error"><div class="code">{{ error }}</div><p>{{ cause }}</p></div>{% endif %}
<form method="post" action="/drop" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<label for="file">CSV file</label><input id="file" type="file" name="file" accept=".csv,text/csv" required>
<label for="target">Target column</label><input id="target" name="target" value="{{ fields.get("target") or '' }}" required>
<label for="problem_type">Problem type</label><select id="problem_type" name="problem_type">
{% for p in ["auto", "binary", "multiclass", "regression"] %}<option{% if fields.get("problem_type") == p %} selected{% endif %}>{{ p }}</option>{% endfor %}</select>
<label for="metric">Metric</label><input id="metric" name="metric" value="{{ fields.get("metric") or 'auto' }}">
<label for="time_budget">Time budget (s)</label><input id="time_budget" name="time_budget" type="number" min="5" value="{{ fields.get("time_budget") or 60 }}">
<label for="exclude">Columns to leave out (comma-separated)</label><input id="exclude" name="exclude" value="{{ fields.get("exclude") or '' }}">
<label for="seed">Seed</label><input id="seed" name="seed" type="number" value="{{ fields.get("seed") or '' }}">
<p><button type="submit" id="drop-submit">Drop and run</button></p>
</form></div>
{% endblock %}
"""

MESSAGE = """{% extends "base.html" %}
{% block main %}<h1>{{ title }}</h1><div class="panel"><p>{{ message }}</p></div>{% endblock %}
"""

ENV = jinja2.Environment(
    loader=jinja2.DictLoader(
        {
            "base.html": BASE,
            "status.html": STATUS,
            "runs.html": RUNS,
            "graph.html": GRAPH,
            "run.html": RUN,
            "drop.html": DROP,
            "message.html": MESSAGE,
        }
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(name: str, **context: object) -> str:
    return ENV.get_template(name).render(**context)
