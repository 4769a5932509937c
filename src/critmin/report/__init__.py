"""The alliance assessment report: numbers, charts and a self-contained HTML document."""

from critmin.report.build import build_report, results_folder
from critmin.report.config import ReportConfig, load_config

__all__ = ["ReportConfig", "build_report", "load_config", "results_folder"]
