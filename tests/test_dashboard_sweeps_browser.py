"""Acceptance 2 of issue 10: ``adaft dashboard`` in headless Chromium shows a sweep started from
the CLI appear in the Sweeps tab and fill in while the page is open.

Reuses the server fixture of ``test_dashboard_browser`` (a temporary runs folder, a free port);
the sweep is two seeds of the tiny model on the local executor (one worker), written into the
served runs folder. Waits are bounded polls of the page, never fixed sleeps; a screenshot goes
to ``test-artifacts/``. Skipped without Voila, Playwright or Chromium, like the other browser test.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

browser_kit = pytest.importorskip("test_dashboard_browser")

server = browser_kit.server  # the fixture: (url, runs folder) of a running `adaft dashboard`
pytestmark = browser_kit.pytestmark
ARTIFACTS, wait_until, playwright = browser_kit.ARTIFACTS, browser_kit.wait_until, browser_kit.playwright

POINTS = ".adaft-sweep-points tr.adaft-point"
SCORE_Y = ("() => { const g = document.querySelector('.adaft-sweep-fig .js-plotly-plot'); "
           "return g && g._fullData ? Array.from(g._fullData[0].y || []) : null }")
LIVE_RUN = "() => { const g = document.querySelectorAll('.js-plotly-plot')[0]; return g._fullData[1].name }"


def _statuses(page) -> list[str]:
    return page.eval_on_selector_all(POINTS, "rows => rows.map(r => r.dataset.status)")


def test_a_cli_sweep_fills_in_the_sweeps_tab(server, tiny_model_dir, conll_dir, tmp_path):
    url, runs = server
    ARTIFACTS.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "adaft_core.cli", "sweep", "--seed", "1,2", "--model", tiny_model_dir,
           "--data", conll_dir, "--max-epochs", "2", "--batch-size", "16", "--max-seq-length", "32",
           "--no-save-model", "--no-checkpoints", "--executor", "local", "--workers", "1",
           "--output-dir", str(runs), "--name", "browser", "--no-progress"]
    log = open(tmp_path / "sweep.log", "w")
    sweep = None
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_kit.CHROMIUM, args=browser_kit.ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1250})
        try:
            page.goto(url, timeout=120_000)
            page.wait_for_selector("text=fine-tuning dashboard", timeout=120_000)
            page.get_by_role("tab", name="Sweeps").click()
            page.wait_for_selector("text=No sweeps yet", timeout=30_000)
            sweep = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                     env={**os.environ, "OMP_NUM_THREADS": "1"})
            # the sweep appears with its two points, then fills in
            wait_until(lambda: len(_statuses(page)) == 2, 60, "the sweep's two points")
            assert page.locator(".adaft-sweeps select").first.input_value() == "browser"
            wait_until(lambda: "done" in _statuses(page), 120, "a point to be done")
            done = page.locator(f"{POINTS}[data-status='done']").first.inner_text()
            assert "f1 " in done and "2 epochs" in done, done
            wait_until(lambda: any(isinstance(y, (int, float)) and y == y for y in (page.evaluate(SCORE_Y) or [])), 30,
                       "the aggregate figure to show the first cell's score")
            wait_until(lambda: _statuses(page) == ["done", "done"], 120, "every point to be done")
            assert sweep.wait(60) == 0, (tmp_path / "sweep.log").read_text()[-2000:]
            cells = page.locator(".adaft-sweep-cells tr.adaft-cell td")
            wait_until(lambda: cells.first.inner_text() == "2", 30, "the aggregate over both seeds")
            assert " ± " in cells.nth(1).inner_text()  # mean ± sample std of two runs
            page.screenshot(path=str(ARTIFACTS / "dashboard-sweeps.png"))
            # a point opens its run in the Live tab
            page.locator(".adaft-sweep-pick select").select_option(label="browser-s2")
            wait_until(lambda: page.evaluate(LIVE_RUN) == "browser-s2", 30, "the Live tab to show browser-s2")
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "dashboard-sweeps-failure.png"))
            raise
        finally:
            browser.close()
            if sweep is not None and sweep.poll() is None:
                sweep.kill()
                sweep.wait(30)
            log.close()
