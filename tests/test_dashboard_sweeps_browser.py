"""Acceptance 2 of issue 10: ``adaft dashboard`` in headless Chromium shows a sweep started from
the CLI appear in the Sweeps tab and fill in while the page is open.

The served dashboard and the session's Chromium are conftest's ``dashboard`` and ``browser``
fixtures; the sweep is two seeds of the tiny model on the local executor (one worker), written into
the served runs folder. Waits are on the page's own state (Playwright's ``expect`` and
``wait_for_function``), never on time; a screenshot goes to ``test-artifacts/``. Skipped without
Voila, Playwright or Chromium, like the other browser tests.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from browser_kit import ARTIFACTS, PAGE_WAIT_MS, needs_chromium, new_page, wait_in_page

pytest.importorskip("voila")
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

pytestmark = needs_chromium

POINTS = ".adaft-sweep-points tr.adaft-point"
# the points' statuses joined by commas, once they are ``want`` (a string or a RegExp source)
STATUSES = ("want => { const s = Array.from(document.querySelectorAll(" + repr(POINTS) + "))"
            ".map(r => r.dataset.status || '?').join(','); return new RegExp(want).test(s) && s }")
SCORE_Y = ("() => { const g = document.querySelector('.adaft-sweep-fig .js-plotly-plot'); "
           "return g && g._fullData && Array.from(g._fullData[0].y || [])"
           ".some(y => typeof y === 'number' && y === y) }")
LIVE_RUN = ("want => { const g = document.querySelectorAll('.js-plotly-plot')[0]; "
            "return !!(g && g._fullData && g._fullData[1] && g._fullData[1].name === want) }")
SWEEP_WAIT_MS = 900_000  # two tiny runs beside other jobs


def test_a_cli_sweep_fills_in_the_sweeps_tab(dashboard, browser, tiny_model_dir, conll_dir, tmp_path):
    url, runs = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "adaft_core.cli", "sweep", "--seed", "1,2", "--model", tiny_model_dir,
           "--data", conll_dir, "--max-epochs", "2", "--batch-size", "16", "--max-seq-length", "32",
           "--no-save-model", "--no-checkpoints", "--executor", "local", "--workers", "1",
           "--output-dir", str(runs), "--name", "browser", "--no-progress"]
    log = open(tmp_path / "sweep.log", "w")
    sweep = None
    with new_page(browser, viewport={"width": 1500, "height": 1250}) as page:
        try:
            page.goto(url, timeout=PAGE_WAIT_MS)
            page.get_by_text("fine-tuning dashboard").first.wait_for(timeout=PAGE_WAIT_MS)
            page.get_by_role("tab", name="Sweeps").click()
            page.get_by_text("No sweeps yet").first.wait_for(timeout=PAGE_WAIT_MS)
            sweep = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                     env={**os.environ, "OMP_NUM_THREADS": "1"})
            # the sweep appears with its two points, then fills in
            wait_in_page(page, STATUSES, r"^[^,]+,[^,]+$", SWEEP_WAIT_MS)
            expect(page.locator(".adaft-sweeps select").first).to_have_value("browser")
            wait_in_page(page, STATUSES, r"\bdone\b", SWEEP_WAIT_MS)
            done = page.locator(f"{POINTS}[data-status='done']").first.inner_text()
            assert "f1 " in done and "2 epochs" in done, done
            wait_in_page(page, SCORE_Y)  # the aggregate figure shows the first cell's score
            wait_in_page(page, STATUSES, r"^done,done$", SWEEP_WAIT_MS)
            assert sweep.wait(SWEEP_WAIT_MS / 1000) == 0, (tmp_path / "sweep.log").read_text()[-2000:]
            cells = page.locator(".adaft-sweep-cells tr.adaft-cell td")
            expect(cells.first).to_have_text("2", timeout=PAGE_WAIT_MS)  # the aggregate over both seeds
            assert " ± " in cells.nth(1).inner_text()  # mean ± sample std of two runs
            page.screenshot(path=str(ARTIFACTS / "dashboard-sweeps.png"))
            # a point opens its run in the Live tab
            page.locator(".adaft-sweep-pick select").select_option(label="browser-s2")
            wait_in_page(page, LIVE_RUN, "browser-s2")
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "dashboard-sweeps-failure.png"))
            raise
        finally:
            if sweep is not None and sweep.poll() is None:
                sweep.kill()
                sweep.wait(30)
            log.close()
