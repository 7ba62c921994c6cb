"""Issue 11, acceptance 2: the teaching notebook served as a page (``adaft dashboard --notebook
04_teaching``) in headless Chromium. Moves the cooldown and learning-rate sliders and changes the
validation-curve preset, and reads what the browser draws after each change: the LR figure's
traces (plotly keeps them in ``gd.data``) and the decisions (summary and table text). Then presses
play on the replay of the shipped run and jumps to its end, where early stopping has fired. Saves element screenshots of the figures into
``test-artifacts/`` (and into ``$ADAFT_DOCS_IMAGES`` when set, e.g. ``docs/images``). Needs
Chromium at /usr/bin/chromium (or ``$ADAFT_CHROMIUM``); skipped otherwise. Waits are bounded polls
of the page, never fixed sleeps.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest
from browser_kit import ARGS, ARTIFACTS, CHROMIUM, needs_chromium
from dashboard_server import start_dashboard, stop_dashboard
from polling import wait_for

pytest.importorskip("voila")
playwright = pytest.importorskip("playwright.sync_api")

pytestmark = needs_chromium

PLOTS = "document.querySelectorAll('.js-plotly-plot')"
# {trace name: [number of points, largest y]} of the teaching figure (the page's first plot)
TRACES = (f"() => {{ const g = {PLOTS}[0]; if (!g || !g.data) return null; const out = {{}}; "
          "for (const t of g.data) { const y = Array.from(t.y || []); "
          "out[t.name] = [y.length, y.length ? Math.max(...y) : null]; } return out }")
# steps drawn in the replay's LR row (its second plot; _fullData: the decoded, drawn arrays)
REPLAY_STEPS = (f"() => {{ const g = {PLOTS}[1]; if (!g || !g._fullData) return -1; "
                "const t = g._fullData.find(t => t.name && t.name.endsWith(' lr')); "
                "return t && t.visible === true ? (t.x || []).length : 0 }")
REPLAY_STOP = (f"() => {{ const g = {PLOTS}[1]; if (!g || !g._fullData) return -1; "
               "const t = g._fullData.find(t => t.name === 'stop'); return t && t.visible === true ? t.x.length : 0 }")
REPLAY_STATE = (f"() => {{ const g = {PLOTS}[1]; if (!g || !g._fullData) return null; "
                "return {xtitle: g.layout.xaxis3 && g.layout.xaxis3.title && g.layout.xaxis3.title.text, "
                "traces: g._fullData.slice(0, 3).map(t => [t.name, t.visible, (t.x || []).length]), "
                "data: g.data.slice(0, 3).map(t => [t.visible, JSON.stringify(t.x || []).length])} }")

wait_until = partial(wait_for, every=0.25)


def move_slider(page, label: str, key: str, until: str, timeout: float = 60) -> None:
    """Press ``key`` on the handle of the slider labelled ``label`` (an arrow moves it one stop,
    End to its end), one press per poll, until its readout shows ``until``."""
    box = page.locator(f".widget-inline-hbox:has(> label:text-is('{label}'))")
    handle, readout = box.locator(".noUi-handle"), box.locator(".widget-readout")

    def there() -> bool:
        if readout.inner_text().strip() == until:
            return True
        handle.focus()
        handle.press(key)
        return readout.inner_text().strip() == until

    wait_until(there, timeout, f"the {label!r} slider at {until}")


def shot(locator, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("ADAFT_DOCS_IMAGES"):
        locator.screenshot(path=str(Path(os.environ["ADAFT_DOCS_IMAGES"]) / name))


def test_teaching_notebook_page_redraws_on_sliders_and_presets(tmp_path):
    proc, port, log = start_dashboard(tmp_path, tmp_path / "runs", "--notebook", "04_teaching")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("console", lambda m: print("browser console:", m.type, m.text[:500]) if m.type == "error" else None)
        page.on("pageerror", lambda e: print("page error:", str(e)[:500]))
        try:
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            summary, table = page.locator(".adaft-teaching-summary"), page.locator(".adaft-teaching-decisions")
            table.wait_for(timeout=120_000)
            assert not page.get_by_text("TeachingView(preset=PRESET").is_visible()  # no code shown
            first = wait_until(lambda: page.evaluate(TRACES), 60, "the teaching figure")
            # the page opens on "overfits" with the paper's settings (S = 10 steps per epoch):
            # adaptive cools down after epoch 7 and stops after epoch 14
            assert first["adaptive LR"] == [141, pytest.approx(2e-5)] and first["original LR"][0] == 51
            assert "adaptive: 14 epochs (early stop)" in summary.inner_text()
            shot(page.locator(".js-plotly-plot").first, "nb04-teaching.png")

            before = table.inner_text()
            move_slider(page, "cooldown epochs", "ArrowLeft", "2")  # 7 -> 2: the stop comes 5 epochs sooner
            wait_until(lambda: page.evaluate(TRACES)["adaptive LR"][0] == 91, 30, "the shorter adaptive LR")
            wait_until(lambda: "adaptive: 9 epochs" in summary.inner_text(), 30, "the earlier stop in the summary")
            assert table.inner_text() != before

            move_slider(page, "learning rate", "ArrowRight", "3e-05")  # 2e-5 -> 3e-5 for every mode
            wait_until(lambda: all(abs(v[1] - 3e-5) < 1e-12 for k, v in page.evaluate(TRACES).items()
                                   if k.endswith(" LR")), 30, "the LR figure at the new peak")

            before = table.inner_text()
            page.locator(".widget-inline-hbox:has(> label:text-is('curve preset')) select").select_option(
                "keeps improving")
            wait_until(lambda: "would go on" in summary.inner_text(), 30, "adaptive going on in the summary")
            after = page.evaluate(TRACES)
            assert after["adaptive LR"][0] == 24 * 10 + 1 and after["adaptive stops"][0] == 0  # never stops
            assert after["val loss"][1] == pytest.approx(1.0)  # the new curve's first (highest) value
            assert table.inner_text() != before and "cooldown" not in table.inner_text()

            # the replay's figure is put on the page once the page shows the replay, at frame 0
            wait_until(lambda: (page.evaluate(REPLAY_STATE) or {}).get("xtitle") == "epoch (training progress)",
                       60, "the replay's figure")
            play = page.locator(".widget-play button").first  # play, pause while playing
            play.click()  # the replay runs
            wait_until(lambda: page.evaluate(REPLAY_STEPS) >= 3, 60, "the replay to draw steps")
            play.click()  # pause, then jump to the end: early stopping has fired
            move_slider(page, "step", "End", "368")
            wait_until(lambda: page.evaluate(REPLAY_STEPS) == 368, 60, "the whole replayed run")
            wait_until(lambda: page.evaluate(REPLAY_STOP) == 1, 30, "the stop marker of the replayed run")
            assert "run ended: early_stopped" in page.locator(".adaft-replay-caption").inner_text()
            shot(page.locator(".js-plotly-plot").nth(1), "nb04-replay.png")
        except BaseException:
            print("summary:", page.locator(".adaft-teaching-summary").inner_text(timeout=5000))
            print("replay figure:", page.evaluate(REPLAY_STATE))
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "nb04-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
            stop_dashboard(proc, log)
