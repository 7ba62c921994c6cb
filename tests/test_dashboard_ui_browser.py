"""Acceptance 3 of issue 12 in headless Chromium: what people hit first, seen in the page.

(c) a bad value (lr = -1) shows its error right under its field, and editing the field to a good
value clears it; (a) a short run (the tiny demo preset with a 1-epoch cooldown: it stops early) is
not shown as an error: the status line's computed colour is not red and nothing carries the
error class; (b) the epoch on the progress line, the newest row of the decisions table and the
chart's hover over the last validation point are the same number (counted from 1). The served
dashboard and the session's Chromium are conftest's ``dashboard`` and ``browser`` fixtures; waits are
on the page's own state (Playwright's ``expect`` and ``wait_for_function``), never on time.
"""

from __future__ import annotations

import re

import pytest
from browser_kit import ARTIFACTS, PAGE_WAIT_MS, needs_chromium, new_page, wait_in_page

pytest.importorskip("voila")
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

RED = "rgb(220, 38, 38)"  # #dc2626, the one colour of failures

pytestmark = needs_chromium

RUN_WAIT_MS = 900_000  # a whole demo run beside other jobs
CURVES = "document.querySelectorAll('.js-plotly-plot')[0]"
# the last point of the first run's validation-loss trace, once it has n points: its hover text and
# where it is drawn
LAST_VAL_POINT = f"""n => {{
  const g = {CURVES}; if (!g || !g._fullData) return null;
  const t = g._fullData.find(t => t.visible === true && / val loss$/.test(t.name || ''));
  if (!t || !t.x || t.x.length !== n) return null;
  const i = t.x.length - 1, xa = g._fullLayout[t.xaxis.replace('x', 'xaxis')],
        ya = g._fullLayout[t.yaxis.replace('y', 'yaxis')];
  const box = g.getBoundingClientRect();
  return {{text: t.text[i], n: t.x.length, px: box.left + xa._offset + xa.l2p(t.x[i]),
          py: box.top + ya._offset + ya.l2p(t.y[i])}};
}}"""

# inputs of the form whose right edge lies outside the form or the box they sit in (cut off)
HOVER = "() => { const h = document.querySelector('.hoverlayer'); return h && h.textContent }"
CLIPPED_INPUTS = """() => {
  const form = [...document.querySelectorAll('.widget-vbox')].find(b => b.querySelector('.adaft-form-status')
      && !b.querySelector('.js-plotly-plot'));
  const right = form.getBoundingClientRect().right;
  return [...form.querySelectorAll('input, select, textarea')].filter(e => e.offsetParent !== null)
    .filter(e => e.getBoundingClientRect().right > right + 0.5
              || e.getBoundingClientRect().right > e.closest('.widget-vbox').getBoundingClientRect().right + 0.5)
    .map(e => (e.closest('.widget-inline-hbox') || e).innerText || e.outerHTML.slice(0, 60));
}"""


def field(page, label: str):
    return page.locator(f".widget-inline-hbox:has(> label:text-is('{label}')) input")


def field_error(page, label: str):
    """The error box that belongs to the field labelled ``label`` (the one right under it)."""
    return (page.locator(f".widget-inline-hbox:has(> label:text-is('{label}'))").locator("xpath=..")
            .locator(".adaft-error"))


def test_errors_in_place_normal_end_not_red_and_one_epoch_number(dashboard, browser):
    url, runs = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    with new_page(browser, viewport={"width": 1500, "height": 1250}) as page:
        try:
            page.goto(url, timeout=PAGE_WAIT_MS)
            page.get_by_text("fine-tuning dashboard").first.wait_for(timeout=PAGE_WAIT_MS)
            page.locator(".widget-inline-hbox:has(> label:text-is('preset')) select").select_option(
                label="tiny demo (~30 s on a CPU)")
            expect(field(page, "model")).to_have_value("minilm-2l", timeout=PAGE_WAIT_MS)  # the preset filled the form
            assert "UI tick" not in page.locator(".widget-vbox").first.inner_text()  # no developer figure on top

            # (c) a form error appears next to its field and clears on edit
            lr = field(page, "learning rate")
            lr.fill("-1")
            error = field_error(page, "learning rate")
            expect(error).to_have_count(1, timeout=PAGE_WAIT_MS)
            expect(error).to_be_visible(timeout=PAGE_WAIT_MS)
            assert "must be a positive number" in error.inner_text()
            box, err_box = lr.bounding_box(), error.bounding_box()
            assert 0 <= err_box["y"] - (box["y"] + box["height"]) < 30, (box, err_box)  # right under the field
            assert err_box["x"] < box["x"] + box["width"] and err_box["y"] + err_box["height"] < 1250  # in sight
            assert page.evaluate("e => getComputedStyle(e).color", error.element_handle()) == RED
            lr.fill("0.0005")
            expect(error).to_have_count(0, timeout=PAGE_WAIT_MS)  # cleared by the edit
            assert page.locator(".adaft-form-status").count() == 1 and page.locator(".adaft-error").count() == 0

            # nothing in the form is clipped, "more settings" unfolded included
            page.get_by_text("more settings", exact=True).click()
            expect(field(page, "run name")).to_be_visible(timeout=PAGE_WAIT_MS)
            clipped = page.evaluate(CLIPPED_INPUTS)
            assert clipped == [], clipped
            page.screenshot(path=str(ARTIFACTS / "dashboard-ui-form.png"))
            field(page, "cooldown epochs").fill("1")  # the demo stops early (epoch 9 padding-free, 6 padded; at most 12)
            page.get_by_text("more settings", exact=True).click()

            # (a) a run that stops early is not shown as an error
            field(page, "max epochs").fill("12")
            command = page.locator("textarea.adaft-command")
            for flag in ("--max-epochs 12", "--cooldown-epochs 1"):  # the command line of the form's settings
                expect(command).to_have_value(re.compile(re.escape(flag)), timeout=PAGE_WAIT_MS)
            start = page.get_by_role("button", name="Start")
            expect(start).to_be_enabled(timeout=PAGE_WAIT_MS)
            start.click()
            status = page.locator(".adaft-form-status")
            expect(status).to_have_text(re.compile(r"^(completed|early_stopped|failed|stopped)\b"), timeout=RUN_WAIT_MS)
            assert status.inner_text().startswith("early_stopped: "), status.inner_text()
            color = page.evaluate("e => getComputedStyle(e).color", status.element_handle())
            assert color != RED, color
            assert page.locator(".adaft-error").count() == 0  # no error class anywhere on the page
            badges = page.evaluate("() => [...document.querySelectorAll('.adaft-status')]"
                                   ".map(e => getComputedStyle(e).backgroundColor)")
            assert badges and RED not in badges, badges  # the status badges: green, not red

            # (b) the same epoch on the progress line, in the decisions table and in the chart's hover
            progress = page.locator(".adaft-progress")
            expect(progress).to_have_count(1, timeout=PAGE_WAIT_MS)
            expect(progress).to_have_text(re.compile(r"^epoch \d+/12"), timeout=PAGE_WAIT_MS)
            line_epoch = int(re.match(r"epoch (\d+)/12", progress.inner_text()).group(1))
            row = page.locator(".adaft-decision-row .adaft-epoch").first
            expect(row).to_have_text(re.compile(r"\d"), timeout=PAGE_WAIT_MS)
            row_epoch = int(row.inner_text())
            point = wait_in_page(page, LAST_VAL_POINT, line_epoch)  # the last validation point in the chart
            assert point["text"] == f"epoch {line_epoch}"  # the text the hover shows for that point
            page.mouse.move(point["px"], point["py"])
            hover = wait_in_page(page, HOVER)
            assert f"epoch {line_epoch}:" in hover, hover
            assert line_epoch == row_epoch and 1 < line_epoch < 12, (line_epoch, row_epoch)  # stopped before max
            assert f"after epoch {line_epoch}:" in page.locator(".adaft-decision").inner_text()
            page.screenshot(path=str(ARTIFACTS / "dashboard-ui.png"))
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "dashboard-ui-failure.png"))
            raise
