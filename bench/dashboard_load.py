"""The served dashboard under load (issues 22 and 24): pages at once, page loads in a row, kernels freed.

``python bench/dashboard_load.py`` serves ``adaft dashboard --max-kernels K --cull-idle G`` (loopback,
a free port) on a runs folder holding one finished run, then:

1. **Pages at once**: ``--pages`` (10) headless Chromium pages opened together (Playwright,
   ``/usr/bin/chromium``, one browser, a fresh profile each); each must draw its first figure (the
   first Plotly trace with a drawn line) or show the 503 page (``--max-kernels``) within 180 s.
   Time to first figure: from each page's navigation start. Then the pages are closed.
2. **Loads in a row**: ``--loads`` (50) ``GET /`` one after another by a client that reads the HTML
   and never opens the kernel's socket (curl's view of the page); each is a page (200) or the 503 page.

After each part it waits until the server is back to its pre-heated kernel (the closed pages'
kernels culled after the grace ``G``) and records the kernels and the memory (RSS of the server
and its kernels) against the baseline; at the end it stops the server with SIGINT and checks its
log holds no traceback. Results: ``bench/results/dashboard-load.json`` and the ``dashboard-load``
section of ``bench/README.md``. Bounded: every wait has a timeout; loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))
from dashboard_page import ARGS, CHROMIUM, kernels, memory, wait_quiet, write_runs  # noqa: E402
from readme_section import replace_section  # noqa: E402

DRAWN_OR_FULL = """() => {
  if ((document.body && document.body.innerText || '').includes('--max-kernels')) return 'full';
  const drawn = [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace path')]
    .some(p => (p.getAttribute('d') || '').length > 20);
  return drawn ? performance.now() : false;
}"""


def pages_at_once(browser, url: str, n: int, timeout_s: float = 180.0) -> list:
    """Open ``n`` pages together; each one's first-figure time (ms) or ``"503"``, or None if neither came."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    out: list = [None] * n
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(o is None for o in out):
        for i, page in enumerate(pages):
            if out[i] is None:
                try:
                    value = page.evaluate(DRAWN_OR_FULL)
                except Exception:  # noqa: BLE001 - the page is still navigating
                    value = False
                if value == "full" or page.title().startswith("503"):
                    out[i] = "503"
                elif value:
                    out[i] = round(value, 1)
        time.sleep(0.25)  # a bounded poll of the pages
    for c in contexts:
        c.close()
    return out


def load_in_a_row(port: int, n: int) -> dict:
    """``n`` GETs of ``/``, one after another, never opening the socket: statuses and seconds each."""
    statuses, seconds = [], []
    for _ in range(n):
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=180)
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        conn.close()
        statuses.append(resp.status)
        seconds.append(time.monotonic() - t0)
    return {"statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "seconds_total": round(sum(seconds), 1), "seconds_median": round(statistics.median(seconds), 2)}


def back_to_baseline(pid: int, pool: int, timeout: float) -> float:
    """Seconds until only the pool's kernels are left (the others culled) and the server is quiet."""
    t0 = time.monotonic()
    while len(kernels(pid)) > pool:
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{len(kernels(pid))} kernels still alive after {timeout:.0f} s")
        time.sleep(0.5)
    wait_quiet(pid, pool)
    return round(time.monotonic() - t0, 1)


def bench(pages: int, loads: int, max_kernels: int, grace: int) -> dict:
    from dashboard_events import synthetic_run
    from dashboard_server import start_server, stop_dashboard
    from playwright.sync_api import sync_playwright

    res: dict = {"machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs", "time": time.time(),
                 "pages": pages, "loads": loads, "max_kernels": max_kernels, "grace_s": grace,
                 "loadavg_before": Path("/proc/loadavg").read_text().split()[:3]}
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        write_runs(runs, synthetic_run("finished", [1.0 - 0.05 * e for e in range(10)], spe=200))
        argv = lambda port: [sys.executable, "-m", "adaft_core.cli", "dashboard", "--runs", str(runs),  # noqa: E731
                             "--port", str(port), "--max-kernels", str(max_kernels), "--cull-idle", str(grace)]
        proc, port, log = start_server(Path(tmp), argv)
        try:
            wait_quiet(proc.pid, 1)
            res["baseline"] = memory(proc.pid)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    res["at_once"] = pages_at_once(browser, f"http://127.0.0.1:{port}/", pages)
                    res["after_pages"] = memory(proc.pid)
                    res["freed_after_pages_s"] = back_to_baseline(proc.pid, 1, grace + 120)
                    res["after_pages_freed"] = memory(proc.pid)
                finally:
                    browser.close()
            res["in_a_row"] = load_in_a_row(port, loads)
            res["after_loads"] = memory(proc.pid)
            res["freed_after_loads_s"] = back_to_baseline(proc.pid, 1, grace + 120)
            res["after_loads_freed"] = memory(proc.pid)
            proc.send_signal(signal.SIGINT)
            res["stop_exit_code"] = proc.wait(60)
        finally:
            stop_dashboard(proc, log)
        printed = (Path(tmp) / f"server-{port}.log").read_text()
        res["tracebacks_in_log"] = printed.count("Traceback")
    res["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    return res


def readme_section(res: dict) -> str:
    drawn = sorted(x for x in res["at_once"] if isinstance(x, float))
    full = res["at_once"].count("503")
    never = res["at_once"].count(None)
    b, p, pf, lf = res["baseline"], res["after_pages"], res["after_pages_freed"], res["after_loads_freed"]
    times = (f"first figure after {drawn[0] / 1000:.1f}–{drawn[-1] / 1000:.1f} s (median "
             f"{statistics.median(drawn) / 1000:.1f} s)") if drawn else "no figure drawn"
    row = res["in_a_row"]
    return f"""
## Dashboard under load (`bench/dashboard_load.py`)

{res['machine']}, {time.strftime('%Y-%m-%d', time.localtime(res['time']))}; load average before
{' '.join(res['loadavg_before'])}, after {' '.join(res['loadavg_after'])}. `adaft dashboard --max-kernels
{res['max_kernels']} --cull-idle {res['grace_s']}` (1 pre-heated kernel), a runs folder with one finished run;
browser, server and kernels share the machine's CPUs.

- **{res['pages']} pages opened at once** (headless Chromium): {len(drawn)} drew their first figure
  ({times}), {full} got the 503 page, {never} neither within 180 s. Right after: {p['kernels']} kernels,
  {p['total_rss_mb']:.0f} MB; {res['freed_after_pages_s']:.0f} s after the pages closed:
  **{pf['kernels']} kernel, {pf['total_rss_mb']:.0f} MB**.
- **{res['loads']} page loads in a row** by a client that never opens the socket:
  {', '.join(f'{n} × {s}' for s, n in row['statuses'].items())} (status), {row['seconds_total']:.0f} s in all; {res['freed_after_loads_s']:.0f} s later
  **{lf['kernels']} kernel, {lf['total_rss_mb']:.0f} MB**.
- Baseline (server + its pre-heated kernel, no page): {b['kernels']} kernel, {b['total_rss_mb']:.0f} MB
  (server {b['server_rss_mb']:.0f} MB; after both parts {lf['server_rss_mb']:.0f} MB).
- Stopped with SIGINT: exit code {res['stop_exit_code']}, {res['tracebacks_in_log']} tracebacks in the server's log.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--loads", type=int, default=50)
    parser.add_argument("--max-kernels", type=int, default=4)
    parser.add_argument("--grace", type=int, default=10, help="--cull-idle of the served dashboard")
    parser.add_argument("--out", default=str(HERE / "results" / "dashboard-load.json"))
    parser.add_argument("--readme", default=str(HERE / "README.md"))
    args = parser.parse_args()
    res = bench(args.pages, args.loads, args.max_kernels, args.grace)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    if args.readme:
        replace_section(Path(args.readme), "dashboard-load", readme_section(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
