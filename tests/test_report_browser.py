"""Acceptance 3 of issue 21: ``adaft report`` pages open in headless Chromium from a file:// URL, with
no server running and no network, and draw every figure (the run's curves, mask heatmaps and the
matrix view; a sweep's figure). Any request that is not the page file itself is refused and
counted: the page must need none. A screenshot goes to ``test-artifacts/``. Uses the session's Chromium
(the ``browser`` fixture of ``conftest.py``)."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("plotly")

from browser_kit import ARTIFACTS, PAGE_WAIT_MS, needs_chromium  # noqa: E402
from report_inputs import LIMIT, long_run, small_sweep  # noqa: E402

from adaft_dashboard.views.report_page import run_page, sweep_page, write_page  # noqa: E402

pytestmark = needs_chromium

# per figure on the page: its traces as Plotly drew them and whether an SVG (or GL) plot exists
DRAWN = """() => Array.from(document.querySelectorAll('.adaft-figure .js-plotly-plot')).map(g => ({
  id: g.id, traces: (g._fullData || []).length,
  points: (g._fullData || []).filter(t => t.visible === true).reduce((n, t) => n + ((t.z || t.y || []).length), 0),
  svg: !!g.querySelector('svg.main-svg'),
  marks: g.querySelectorAll('.scatterlayer .trace path, .heatmaplayer image, .barlayer .point').length}))"""


def _open(page_file, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    outside, errors = [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (outside.append(route.request.url), route.abort()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page_file.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_function("() => window.Plotly && document.querySelectorAll('.adaft-figure .js-plotly-plot')"
                           ".length > 0 && Array.from(document.querySelectorAll('.adaft-figure .js-plotly-plot'))"
                           ".every(g => g._fullLayout)", timeout=PAGE_WAIT_MS)
    return page, outside, errors


def test_report_pages_open_from_a_file_and_draw_every_figure(tmp_path, browser):
    runs = tmp_path / "runs"
    run_file = write_page(run_page(long_run(runs)), tmp_path / "run.html")
    small_sweep(runs)
    sweep_file = write_page(sweep_page("syn", runs), tmp_path / "sweep.html")
    assert run_file.stat().st_size < LIMIT
    ARTIFACTS.mkdir(exist_ok=True)
    page, outside, errors = _open(run_file, browser)
    try:
        figures = page.evaluate(DRAWN)
        page.screenshot(path=str(ARTIFACTS / "report-run.png"), full_page=True)
        assert [f["id"] for f in figures] == ["adaft-figure-0", "adaft-figure-1", "adaft-figure-2"]
        assert all(f["svg"] and f["traces"] and f["points"] and f["marks"] for f in figures), figures
        assert page.locator("tr.adaft-decision-row").count() == 50
        assert page.locator(".adaft-per-type").count() == 1
        assert outside == [] and errors == []
    finally:
        page.close()

    page, outside, errors = _open(sweep_file, browser)
    try:
        [figure] = page.evaluate(DRAWN)
        assert figure["svg"] and figure["points"] and figure["marks"], figure
        assert page.locator(".adaft-cells tr").count() == 1 + 4  # the header and the four cells
        assert outside == [] and errors == []
    finally:
        page.close()
