"""Reports rendered from saved results only: one self-contained HTML file with charts, or
markdown for a pull request. `data` reads the folders into a neutral `ReportData`; `figures`,
`html` and `markdown` are pure functions of it; `marks` keeps every emulated target marked."""

from crossfade.report.data import ReportError, load_report
from crossfade.report.html import render_html
from crossfade.report.markdown import render_markdown
from crossfade.report.model import ReportData

__all__ = ["ReportData", "ReportError", "load_report", "render_html", "render_markdown"]
