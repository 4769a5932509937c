"""Assemble the self-contained HTML report: one file, Plotly's JavaScript inline once, no
network needed; responsive on screen (tables scroll inside their boxes, charts follow the
width) and printable on A4 (tables reflow, charts print as scaled images)."""

from __future__ import annotations

import html
from importlib.metadata import version
from importlib.resources import files

from critmin.report import sections
from critmin.report.results import ReportResults
from critmin.report.summary import key_findings

CSS = """
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; line-height: 1.5;
       background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: .2em 0 .4em; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #ddd; padding-bottom: .2em;
     margin-top: 2.4rem; }
h3 { font-size: 1.08rem; margin: 1.6rem 0 .3rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .2rem; }
p, li, dd, h1, h2, h3, h4 { overflow-wrap: break-word; }
a { color: #0b5cad; }
.note, .caption { color: #555; font-size: .9rem; }
.toc ol { columns: 2 16rem; padding-left: 1.3rem; margin: .5rem 0 0; font-size: .95rem; }
.findings li { margin: .45em 0; }
.confidence { display: inline-block; font-size: .75rem; padding: 0 .45em; border-radius: .3em;
              border: 1px solid #999; white-space: nowrap; }
.confidence-high { background: #e3f4ea; border-color: #6cb58a; }
.confidence-medium { background: #fff4d6; border-color: #d9b44a; }
.confidence-low { background: #fde2e1; border-color: #e09a94; }
.why { color: #555; font-size: .85rem; }
.flags { border-left: 4px solid #d9b44a; background: #fffaf0; padding: .4rem .9rem;
         margin: .8rem 0; font-size: .9rem; }
.flags-title { font-weight: 600; margin: .2rem 0; }
.flags ul { margin: .2rem 0; padding-left: 1.1rem; }
.flag { display: inline-block; font-size: .72rem; padding: 0 .4em; border-radius: .3em;
        background: #fff4d6; border: 1px solid #d9b44a; white-space: nowrap; }
.flag-assumption { background: #fde2e1; border-color: #e09a94; }
.flag-derived, .flag-secondary { background: #e8f0fb; border-color: #8fb0de; }
.not-computed { border-left: 4px solid #c0392b; background: #fbf1f1; padding: .5rem .9rem;
                margin: .6rem 0; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: .8rem 0 1.3rem;
              border: 1px solid #e3e3e3; }
table { border-collapse: collapse; font-size: .84rem; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .35rem .55rem; }
th, td { padding: .3rem .55rem; border-bottom: 1px solid #e8e8e8; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
th.num, td.num { text-align: right; white-space: nowrap; }
th.words, td.words { text-align: left; min-width: 7rem; }
th.long, td.long { min-width: 16rem; }
th.num { white-space: normal; min-width: 5.5rem; }
figure.chart { margin: .5rem 0 1rem; width: 100%; }
.plotly-graph-div { width: 100%; }
.print-only { display: none; }
details.notes { font-size: .88rem; margin: .5rem 0 1rem; }
dl.run { display: grid; grid-template-columns: minmax(8rem, 16rem) 1fr; gap: .3rem 1rem; }
dl.run dt { font-weight: 600; } dl.run dd { margin: 0; }
@media (max-width: 640px) {
  main { padding: 1rem .75rem 2rem; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.2rem; }
  table { font-size: .78rem; }
  dl.run { grid-template-columns: 1fr; } dl.run dd { margin-bottom: .4rem; }
}
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 9.5pt; }
  main { max-width: none; padding: 0; }
  .toc, details.notes { display: none; }
  h2 { break-after: avoid; margin-top: 1.2rem; }
  h3, h4 { break-after: avoid; }
  .table-wrap { overflow: visible; border: none; }
  table { font-size: 7pt; table-layout: auto; }
  th, td { padding: .15rem .25rem; }
  th.num, td.num, th.words, td.words { white-space: normal; min-width: 0;
                                       overflow-wrap: anywhere; }
  tr, .flags, .not-computed { break-inside: avoid; }
  .plotly-graph-div { display: none; }
  .print-only { display: block; width: 100%; max-width: 100%; height: auto;
                break-inside: avoid; }
}
"""

# Draws every chart from its JSON, then renders a fixed-width SVG copy of it for print.
SCRIPT = """
(function () {
  var config = {displaylogo: false, responsive: true};
  var blocks = Array.prototype.slice.call(document.querySelectorAll('script.chart-data'));
  var drawn = blocks.map(function (block) {
    var id = block.getAttribute('data-for');
    var spec = JSON.parse(block.textContent);
    return Plotly.newPlot(id, spec.data, spec.layout, config).then(function (div) {
      return Plotly.toImage(div, {format: 'svg', width: 900, height: spec.layout.height});
    }).then(function (url) {
      document.getElementById(id + '-print').src = url;
    });
  });
  Promise.all(drawn).then(function () { document.body.setAttribute('data-charts', 'ready'); });
})();
"""


def plotly_js() -> str:
    """Plotly's JavaScript bundle as shipped with the plotly package."""
    return (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def render_html(results: ReportResults) -> str:
    """The whole report as one HTML string (deterministic: fixed chart ids, no timestamps)."""
    config = results.config
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>critmin alliance report: {html.escape(config.alliance)} {config.year}</title>",
        f"<style>{CSS}</style>",
        f"<script>{plotly_js()}</script>",
        "</head><body><main>",
        *sections.header(results),
        sections.heading("findings"),
        sections.findings_list(key_findings(results)),
        *sections.concentration(results),
        *sections.geopolrisk(results),
        *sections.gaps(results),
        *sections.disruption(results),
        *sections.stockpile(results),
        *sections.portfolio(results),
        *sections.pricefloor(results),
        *sections.energy(results),
        *sections.sources(results),
        *sections.run(results, version("critmin")),
        f"</main><script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)
