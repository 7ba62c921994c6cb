"""Issue 11, acceptance 2: the teaching notebook served as a page (``adaft dashboard --notebook
04_teaching``) in headless Chromium. Moves the cooldown and learning-rate sliders and changes the
validation-curve preset, and reads what the browser draws after each change: the LR figure's
traces (plotly keeps them in ``gd.data``) and the decisions (summary and table text). Then presses
play on the replay of the shipped run and jumps to its end, where early stopping has fired. Saves element screenshots of the figures into
``test-artifacts/`` (and into ``$ADAFT_DOCS_IMAGES`` when set, e.g. ``docs/images``). Needs
Chromium at /usr/bin/chromium (or ``$ADAFT_CHROMIUM``); skipped otherwise. Uses the session's
Chromium (conftest's ``browser``); waits are on the page's own state (Playwright's ``expect`` and
``wait_for_function``), never on time, and a slider moves one key press at a time, the next one
only after the page showed the last, so a loaded machine neither fails nor overshoots it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_kit import ARTIFACTS, PAGE_WAIT_MS, needs_chromium, new_page, served_dashboard, wait_in_page

pytest.importorskip("voila")
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

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

MAX_PRESSES = 50


def move_slider(page, label: str, key: str, until: str) -> None:
    """Press ``key`` on the handle of the slider labelled ``label`` (an arrow moves it one stop,
    End to its end) until its readout shows ``until``; after each press, wait until the readout
    changed, so that a slow page never gets a second press for the same stop."""
    box = page.locator(f".widget-inline-hbox:has(> label:text-is('{label}'))")
    handle, readout = box.locator(".noUi-handle"), box.locator(".widget-readout")
    for _ in range(MAX_PRESSES):
        shown = readout.inner_text().strip()
        if shown == until:
            return
        handle.focus()
        handle.press(key)
        expect(readout).not_to_have_text(shown, timeout=PAGE_WAIT_MS)
    raise AssertionError(f"the {label!r} slider did not reach {until} in {MAX_PRESSES} presses of {key}")


def traces_when(page, condition: str) -> dict:
    """The teaching figure's traces (:data:`TRACES`) once the JavaScript ``condition`` on them (``t``) holds."""
    return wait_in_page(page, f"() => {{ const t = ({TRACES})(); return t && ({condition}) && t }}")


def shot(locator, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("ADAFT_DOCS_IMAGES"):
        locator.screenshot(path=str(Path(os.environ["ADAFT_DOCS_IMAGES"]) / name))


@pytest.fixture(scope="module")
def teaching_page(tmp_path_factory):
    """``adaft dashboard --notebook 04_teaching`` served for this module: its URL."""
    tmp = tmp_path_factory.mktemp("teaching")
    with served_dashboard(tmp, tmp / "runs", "--notebook", "04_teaching") as url:
        yield url


def test_teaching_notebook_page_redraws_on_sliders_and_presets(teaching_page, browser):
    with new_page(browser, viewport={"width": 1200, "height": 1400}) as page:
        page.on("console", lambda m: print("browser console:", m.type, m.text[:500]) if m.type == "error" else None)
        page.on("pageerror", lambda e: print("page error:", str(e)[:500]))
        try:
            page.goto(teaching_page, timeout=PAGE_WAIT_MS)
            summary, table = page.locator(".adaft-teaching-summary"), page.locator(".adaft-teaching-decisions")
            table.wait_for(timeout=PAGE_WAIT_MS)
            assert not page.get_by_text("TeachingView(preset=PRESET").is_visible()  # no code shown
            first = traces_when(page, "true")  # the teaching figure
            # the page opens on "overfits" with the paper's settings (S = 10 steps per epoch):
            # adaptive cools down after epoch 7 and stops after epoch 14
            assert first["adaptive LR"] == [141, pytest.approx(2e-5)] and first["original LR"][0] == 51
            assert "adaptive: 14 epochs (early stop)" in summary.inner_text()
            shot(page.locator(".js-plotly-plot").first, "nb04-teaching.png")

            before = table.inner_text()
            move_slider(page, "cooldown epochs", "ArrowLeft", "2")  # 7 -> 2: the stop comes 5 epochs sooner
            traces_when(page, "t['adaptive LR'][0] === 91")  # the shorter adaptive LR
            expect(summary).to_contain_text("adaptive: 9 epochs", timeout=PAGE_WAIT_MS)  # the earlier stop
            assert table.inner_text() != before

            move_slider(page, "learning rate", "ArrowRight", "3e-05")  # 2e-5 -> 3e-5 for every mode
            traces_when(page, "Object.entries(t).filter(([k]) => k.endsWith(' LR'))"
                              ".every(([k, v]) => Math.abs(v[1] - 3e-5) < 1e-12)")  # the LR figure at the new peak

            before = table.inner_text()
            page.locator(".widget-inline-hbox:has(> label:text-is('curve preset')) select").select_option(
                "keeps improving")
            expect(summary).to_contain_text("would go on", timeout=PAGE_WAIT_MS)  # adaptive goes on
            after = traces_when(page, f"t['adaptive LR'][0] === {24 * 10 + 1}")  # the figure of the new curve
            assert after["adaptive stops"][0] == 0  # never stops
            assert after["val loss"][1] == pytest.approx(1.0)  # the new curve's first (highest) value
            assert table.inner_text() != before and "cooldown" not in table.inner_text()

            # the replay's figure is put on the page once the page shows the replay, at frame 0
            wait_in_page(page, f"() => {{ const s = ({REPLAY_STATE})(); "
                               "return s && s.xtitle === 'epoch (training progress)' }")
            play = page.locator(".widget-play button").first  # play, pause while playing
            play.click()  # the replay runs
            wait_in_page(page, f"() => ({REPLAY_STEPS})() >= 3")  # the replay draws steps
            play.click()  # pause, then jump to the end: early stopping has fired
            move_slider(page, "step", "End", "368")
            wait_in_page(page, f"() => ({REPLAY_STEPS})() === 368")  # the whole replayed run
            wait_in_page(page, f"() => ({REPLAY_STOP})() === 1")  # the stop marker of the replayed run
            expect(page.locator(".adaft-replay-caption")).to_contain_text("run ended: early_stopped",
                                                                          timeout=PAGE_WAIT_MS)
            shot(page.locator(".js-plotly-plot").nth(1), "nb04-replay.png")
        except BaseException:
            print("summary:", page.locator(".adaft-teaching-summary").inner_text(timeout=5000))
            print("replay figure:", page.evaluate(REPLAY_STATE))
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "nb04-failure.png"), full_page=True)
            raise
