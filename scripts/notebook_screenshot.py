"""Screenshot one figure of a notebook served as a page (the README's Notebooks pictures).

    python scripts/notebook_screenshot.py NAME SELECTOR OUT [--runs DIR] [--scale small|paper]

Serves ``adaft dashboard --notebook NAME --runs DIR`` at a free port (``scripts/served_page.py``;
Voila runs the notebook in a kernel, with ``$ADAFT_NOTEBOOK_SCALE`` = ``--scale``), opens it in
headless Chromium (``/usr/bin/chromium`` or ``$ADAFT_CHROMIUM``) with Playwright, waits until
SELECTOR is on the page (Voila shows the page once every cell ran: point ``--runs`` at a runs
folder where the notebook's sweeps already finished, so nothing trains again), and saves that
element as a PNG. Examples::

    python scripts/notebook_screenshot.py 02_adaptive_vs_original \\
        '.js-plotly-plot:has-text("epochs trained")' docs/images/nb02-modes.png --runs /work/paper-runs --scale paper
    python scripts/notebook_screenshot.py 03_dps_masks \\
        '.js-plotly-plot:has-text("Masks in common per layer")' docs/images/nb03-overlap.png --runs runs
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from served_page import CHROMIUM, CHROMIUM_ARGS, served_page


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="notebook name (e.g. 03_dps_masks) or path")
    ap.add_argument("selector", help="Playwright selector of the element to capture")
    ap.add_argument("out", help="PNG file to write")
    ap.add_argument("--runs", default="runs", help="runs folder served (ADAFT_RUNS_DIR of the notebook)")
    ap.add_argument("--scale", default="small", choices=("small", "paper"), help="ADAFT_NOTEBOOK_SCALE")
    ap.add_argument("--width", type=int, default=1100)
    ap.add_argument("--timeout", type=float, default=900, help="seconds to wait for the element")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {"ADAFT_NOTEBOOK_SCALE": args.scale, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with served_page(["--notebook", args.name, "--runs", args.runs], env=env, log_dir=out.parent) as server, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.goto(server.url, timeout=int(args.timeout * 1000))
        element = page.locator(args.selector).first
        try:
            element.wait_for(state="visible", timeout=int(args.timeout * 1000))
        except Exception:
            page.screenshot(path=f"{out}.failed.png", full_page=True)
            raise SystemExit(f"{args.selector!r} did not appear in {args.timeout:g} s; the page as it was: "
                             f"{out}.failed.png, the server's log: {server.log_path}") from None
        element.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)  # let plotly finish drawing before the picture
        element.screenshot(path=str(out))
        browser.close()
    server.log_path.unlink()  # kept only when the picture failed
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
