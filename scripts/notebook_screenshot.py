"""Screenshot one figure of a notebook served as a page (the README's Notebooks pictures).

    python scripts/notebook_screenshot.py NAME SELECTOR OUT [--runs DIR] [--scale small|paper]

Serves ``adaft dashboard --notebook NAME --runs DIR`` at a free port (Voila runs the notebook in a
kernel, with ``$ADAFT_NOTEBOOK_SCALE`` = ``--scale``), opens it in headless Chromium
(``/usr/bin/chromium`` or ``$ADAFT_CHROMIUM``) with Playwright, waits until SELECTOR is on the page
(Voila shows the page once every cell ran: point ``--runs`` at a runs folder where the notebook's
sweeps already finished, so nothing trains again), and saves that element as a PNG. Examples::

    python scripts/notebook_screenshot.py 02_adaptive_vs_original \\
        '.js-plotly-plot:has-text("epochs trained")' docs/images/nb02-modes.png --runs /work/paper-runs --scale paper
    python scripts/notebook_screenshot.py 03_dps_masks \\
        '.js-plotly-plot:has-text("Masks in common per layer")' docs/images/nb03-overlap.png --runs runs
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("adaft dashboard --notebook did not start") from None
            time.sleep(0.25)


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

    port = free_port()
    env = {**os.environ, "ADAFT_NOTEBOOK_SCALE": args.scale, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    log_path = Path(str(args.out) + ".server.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen([sys.executable, "-m", "adaft_core.cli", "dashboard", "--notebook", args.name,
                               "--runs", args.runs, "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("ADAFT_CHROMIUM", "/usr/bin/chromium"),
                                        args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/", timeout=int(args.timeout * 1000))
            element = page.locator(args.selector).first
            try:
                element.wait_for(state="visible", timeout=int(args.timeout * 1000))
            except Exception:
                page.screenshot(path=str(args.out) + ".failed.png", full_page=True)
                raise SystemExit(f"{args.selector!r} did not appear in {args.timeout:g} s; the page as it was: "
                                 f"{args.out}.failed.png, the server's log: {log_path}") from None
            element.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)  # let plotly finish drawing before the picture
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            element.screenshot(path=args.out)
            browser.close()
        print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB)")
        log.close()
        log_path.unlink()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
