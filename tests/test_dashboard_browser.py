"""Acceptance 2 of the dashboard issue: ``adaft dashboard`` in headless Chromium (Playwright).

Starts the server on a temporary runs folder and a free port, starts the tiny demo preset from
the form and waits until the loss curve grows; reloads the page mid-run (a new kernel: the run is
its own process) and checks that the form follows the same run and its curve keeps growing (issue
9, acceptance 3); waits until the stop marker and its reason appear; starts
a second run and stops it with the button (status ``stopped``); switches a log-scale toggle;
saves screenshots into ``test-artifacts/`` (and the finished run into ``$ADAFT_DOCS_SCREENSHOT``
when set, e.g. ``docs/dashboard.png``). Needs Chromium at /usr/bin/chromium (or
``$ADAFT_CHROMIUM``): ``scripts/install.sh --test`` installs Debian's package; skipped otherwise.
Waits are on the page's own state (Playwright's ``expect`` and ``wait_for_function``), bounded only
to catch a page that never gets there, never on time: the test holds on a loaded machine.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from browser_kit import ARTIFACTS, PAGE_WAIT_MS, needs_chromium, new_page, wait_in_page
from polling import wait_for

pytest.importorskip("voila")
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

pytestmark = needs_chromium

# JavaScript probes of the live page (plotly keeps the drawn traces in gd._fullData)
CURVES = "document.querySelectorAll('.js-plotly-plot')[0]"
LOSS_POINTS = f"() => {{ const g = {CURVES}; return g && g._fullData ? (g._fullData[0].x || []).length : 0 }}"
MORE_LOSS_POINTS = (f"n => {{ const g = {CURVES}; const k = g && g._fullData ? (g._fullData[0].x || []).length : 0;"
                    " return k > n && k }")  # the number of loss points once there are more than n
STOP_MARKERS = (f"() => {{ const g = {CURVES}; if (!g || !g._fullData) return 0; "
                "const t = g._fullData.find(t => t.name === 'stop'); return t && t.visible === true ? t.x.length : 0 }")
LOG_LOSS_AXIS = f"() => {{ const g = {CURVES}; return g && g.layout.yaxis.type === 'log' }}"
RUN_WAIT_MS = 900_000  # a whole demo run beside other jobs


def logged(run_dir) -> tuple[int, bool]:
    """(step events in the run's log, whether it has ended)."""
    kinds = [json.loads(line)["event"] for line in (run_dir / "events.jsonl").read_text().splitlines() if line]
    return kinds.count("step"), "run_ended" in kinds


def test_dashboard_in_a_browser(dashboard, browser):
    url, runs = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    with new_page(browser, viewport={"width": 1500, "height": 1250}) as page:
        try:
            page.goto(url, timeout=PAGE_WAIT_MS)
            page.get_by_text("fine-tuning dashboard").first.wait_for(timeout=PAGE_WAIT_MS)
            page.locator(".widget-inline-hbox:has(> label:text-is('preset')) select").select_option(
                label="tiny demo (~30 s on a CPU)")
            start, stop = page.get_by_role("button", name="Start"), page.get_by_role("button", name="Stop")
            status = page.locator(".adaft-form-status")
            expect(page.locator(".widget-inline-hbox:has(> label:text-is('model')) input")).to_have_value(
                "minilm-2l", timeout=PAGE_WAIT_MS)  # the preset filled the form
            # twice the demo's data, so that the run still trains while the page reloads on a fast machine
            page.locator(".widget-inline-hbox:has(> label:text-is('train fraction')) input").fill("0.2")
            expect(start).to_be_enabled(timeout=PAGE_WAIT_MS)  # the form accepted the edit
            start.click()
            # the loss curve grows
            first = wait_in_page(page, MORE_LOSS_POINTS, 0, RUN_WAIT_MS)
            wait_in_page(page, MORE_LOSS_POINTS, first + 5, RUN_WAIT_MS)
            expect(status).to_have_text(re.compile(r"^running: \S"), timeout=PAGE_WAIT_MS)
            run_id = status.inner_text().split(": ", 1)[1].strip()
            run_dir = runs / run_id
            # reload the page mid-run: a new kernel, the run (its own process) goes on and is live again
            page.reload(timeout=PAGE_WAIT_MS)
            page.get_by_text("fine-tuning dashboard").first.wait_for(timeout=PAGE_WAIT_MS)
            start, stop = page.get_by_role("button", name="Start"), page.get_by_role("button", name="Stop")
            status = page.locator(".adaft-form-status")
            # the reloaded form follows the same run: still running, or (the reload took long: a loaded
            # machine, or a fast one) already ended
            expect(status).to_have_text(re.compile(rf"^\w+: {re.escape(run_id)}$"), timeout=PAGE_WAIT_MS)
            again = wait_in_page(page, MORE_LOSS_POINTS, 0, PAGE_WAIT_MS)
            assert again >= first + 5  # the whole run so far, read from its log
            # ... and keeps following it: the curve grows while the run trains, or shows every step of
            # the finished log
            wait_for(lambda: page.evaluate(LOSS_POINTS) > again or (logged(run_dir)[1] and page.evaluate(LOSS_POINTS)
                                                                     == logged(run_dir)[0]),
                     RUN_WAIT_MS / 1000, "the curve to follow the run after the reload", every=0.25)
            page.screenshot(path=str(ARTIFACTS / "dashboard-reloaded.png"))
            # then the stop marker and its reason appear
            wait_in_page(page, STOP_MARKERS, timeout_ms=RUN_WAIT_MS)
            decision = page.locator(".adaft-decision")
            expect(decision).to_contain_text("without improvement", timeout=PAGE_WAIT_MS)
            assert "stop," in decision.inner_text(), decision.inner_text()
            expect(status).to_have_text(f"early_stopped: {run_id}", timeout=RUN_WAIT_MS)
            page.screenshot(path=str(ARTIFACTS / "dashboard-finished.png"))
            if os.environ.get("ADAFT_DOCS_SCREENSHOT"):
                page.screenshot(path=os.environ["ADAFT_DOCS_SCREENSHOT"])
            # a second run, stopped with the button
            expect(start).to_be_enabled(timeout=PAGE_WAIT_MS)
            start.click()
            expect(status).to_have_text(re.compile(r"^running: \S"), timeout=RUN_WAIT_MS)
            second_run = status.inner_text().split(": ", 1)[1].strip()
            assert second_run != run_id
            expect(stop).to_be_enabled(timeout=PAGE_WAIT_MS)
            stop.click()
            expect(status).to_have_text(f"stopped: {second_run}", timeout=RUN_WAIT_MS)
            ended = json.loads((runs / second_run / "events.jsonl").read_text().splitlines()[-1])
            assert ended["event"] == "run_ended" and ended["status"] == "stopped"
            # a log-scale toggle
            page.get_by_text("log loss", exact=True).click()
            wait_in_page(page, LOG_LOSS_AXIS)
            page.screenshot(path=str(ARTIFACTS / "dashboard-browser.png"))
            # the runs table lists both runs
            page.get_by_role("tab", name="Runs").click()
            table = page.locator(".adaft-runs")
            expect(table).to_contain_text(run_id, timeout=PAGE_WAIT_MS)
            expect(table).to_contain_text(second_run, timeout=PAGE_WAIT_MS)
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"))
            raise
