"""Screenshot the dashboard showing finished runs (the README's picture).

    python scripts/dashboard_screenshot.py --runs runs --out docs/dashboard.png [--select RUN ...]

Serves ``adaft dashboard`` on the runs folder at a free port (``scripts/served_page.py``), opens
it in headless Chromium (``/usr/bin/chromium`` or ``$ADAFT_CHROMIUM``) with Playwright, selects the
given runs (default: the newest), waits until the curves are drawn and saves a PNG. Starts no
training.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from served_page import CHROMIUM, CHROMIUM_ARGS, served_page

POINTS = ("() => { const g = document.querySelectorAll('.js-plotly-plot')[0];"
          " return g && g._fullData ? (g._fullData[0].x || []).length : 0 }")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--out", default="docs/dashboard.png")
    ap.add_argument("--select", nargs="*", default=[], help="run ids to overlay (default: the newest run)")
    ap.add_argument("--width", type=int, default=1500)
    ap.add_argument("--height", type=int, default=1250)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as logs, served_page(["--runs", args.runs], log_dir=Path(logs)) as server, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(server.url, timeout=120_000)
        page.wait_for_selector("text=fine-tuning dashboard", timeout=120_000)
        if args.select:
            page.get_by_role("tab", name="Runs").click()
            page.locator(".widget-select-multiple select").select_option(args.select)
            page.get_by_role("tab", name="Live").click()
        page.wait_for_function(POINTS, timeout=60_000)
        page.wait_for_timeout(1500)  # let plotly finish its transitions before the picture
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out)
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
