"""Comparing cities and groups, and the self-contained HTML report (charts, 2-D map)."""

from criteria_nlp.report.compare import compare_all, distinctive_items, shared_items
from criteria_nlp.report.html import render_report
from criteria_nlp.report.projection import project_2d

__all__ = ['compare_all', 'distinctive_items', 'shared_items', 'render_report', 'project_2d']
