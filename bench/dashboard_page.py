"""The served dashboard's page: time to the first figure and the memory of its kernels.

``python bench/dashboard.py --page`` serves the dashboard on
a temporary runs folder holding one finished 2,000-step run, in each of these layouts:

- ``voila``: what a user would do by hand, ``voila dashboard/page/app.ipynb`` (no culling, no pool);
- ``no-preheat``: ``adaft dashboard --no-preheat`` (the door, culling, a kernel started per page);
- ``adaft``: ``adaft dashboard`` as shipped (a pre-heated kernel waits for the next page).

and opens the page ``--loads`` times in headless Chromium (Playwright, ``/usr/bin/chromium``), one
page at a time, each closed before the next, each in a fresh browser profile (a first visit); for
``adaft`` also ``--loads`` times in one profile (a returning visitor: Plotly's bundle cached).
**Time to first figure**: from the navigation start
(``performance.now()`` = 0) to the first Plotly trace with a drawn line in the DOM
(``.js-plotly-plot .scatterlayer .trace path``); also the first byte and the end of the HTML (Voila
streams the executed notebook). Before each load the bench waits until the server's kernels are
quiet (a refilled pool has finished its notebook), as for a user who opens the page now and then.

**Memory** (``adaft`` and ``voila``): the resident set (RSS, and USS: the pages only that process
holds) of the server and of each kernel, at the start (the baseline: no page; for ``adaft`` its
pooled kernel), then after ``--memory-loads`` page loads and closes and, for the served
dashboard, once its kernels are culled (``--cull-idle``, short here) — back to the baseline count.
"""

from __future__ import annotations

import json
import tempfile
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST_FIGURE = """() => {
  const drawn = [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace path')]
    .some(p => (p.getAttribute('d') || '').length > 20);
  return drawn ? performance.now() : false;
}"""
TIMINGS = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {first_byte_ms: n.responseStart, html_end_ms: n.responseEnd, dom_loaded_ms: n.domContentLoadedEventEnd}; }"""
LAYOUTS = ("voila", "no-preheat", "adaft")


def write_runs(runs: Path, events: list[dict]) -> None:
    """A finished run's log (``events``), so the Live tab has curves to draw."""
    run_dir = runs / events[0]["run_id"]
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "events.jsonl", "w") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)


def server_argv(layout: str, runs: Path, cull_idle: int):
    if layout == "voila":
        return lambda port: [sys.executable, "-m", "voila", str(REPO / "dashboard" / "page" / "app.ipynb"), f"--port={port}",
                             "--no-browser", "--Voila.ip=127.0.0.1"]
    extra = ["--no-preheat"] if layout == "no-preheat" else []
    return lambda port: [sys.executable, "-m", "adaft_core.cli", "dashboard", "--runs", str(runs), "--port", str(port),
                         "--cull-idle", str(cull_idle), *extra]


def kernels(server_pid: int) -> list:
    import psutil

    def is_kernel(proc) -> bool:
        try:
            return "ipykernel" in " ".join(proc.cmdline())
        except psutil.Error:  # a kernel that just ended (a zombie until the server reaps it)
            return False

    return [p for p in psutil.Process(server_pid).children() if is_kernel(p)]


def memory(server_pid: int) -> dict:
    """MB resident: the server, each kernel (RSS and USS), the total."""
    import psutil

    def mb(proc):
        info = proc.memory_full_info()
        return round(info.rss / 2**20, 1), round(info.uss / 2**20, 1)

    server = mb(psutil.Process(server_pid))
    ks = [mb(k) for k in kernels(server_pid)]
    return {"server_rss_mb": server[0], "server_uss_mb": server[1], "kernels": len(ks),
            "kernel_rss_mb": [k[0] for k in ks], "kernel_uss_mb": [k[1] for k in ks],
            "total_rss_mb": round(server[0] + sum(k[0] for k in ks), 1),
            "total_uss_mb": round(server[1] + sum(k[1] for k in ks), 1)}


def wait_quiet(server_pid: int, at_least: int, timeout: float = 180.0, window: float = 1.0) -> float:
    """Wait until ``at_least`` kernels run and the server and its kernels together used under 20 %
    of a CPU over ``window`` s (a pool kernel has finished its notebook); the seconds waited."""
    import psutil

    start = time.monotonic()
    server = psutil.Process(server_pid)
    while time.monotonic() - start < timeout:
        procs = [server, *kernels(server_pid)]
        if len(procs) - 1 >= at_least:
            before = sum(_cpu(p) for p in procs)
            time.sleep(window)  # a CPU-use sample, not a wait for an event
            if sum(_cpu(p) for p in procs) - before < 0.2 * window:
                return time.monotonic() - start
        else:
            time.sleep(0.2)
    raise AssertionError(f"the server's kernels were not quiet within {timeout:.0f} s")


def _cpu(proc) -> float:
    try:
        t = proc.cpu_times()
        return t.user + t.system
    except Exception:  # noqa: BLE001 - a kernel that just ended
        return 0.0


try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the bench needs Playwright; importing this module does not
    PlaywrightTimeout = TimeoutError


def load_page(browser, url: str, timeout_s: float = 120.0, shot: Path | None = None, context=None) -> dict:
    """Open the page in a fresh browser context (a first visit: nothing cached; or in ``context``, a
    returning visitor's), wait for the first drawn figure, close it (a screenshot into ``shot`` if
    it never draws)."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        try:
            handle = page.wait_for_function(FIRST_FIGURE, polling=50, timeout=timeout_s * 1000)
        except Exception:
            if shot is not None:
                page.screenshot(path=str(shot))
            raise
        out = {"first_figure_ms": round(handle.json_value(), 1)}
        out.update({k: round(v, 1) for k, v in page.evaluate(TIMINGS).items()})
        return out
    finally:
        page.close()
        if own:
            context.close()


def run_layout(layout: str, tmp: Path, browser, loads: int, memory_loads: int, cull_idle: int,
               events: list[dict]) -> dict:
    from dashboard_server import start_server, stop_dashboard

    runs = tmp / layout / "runs"
    write_runs(runs, events)
    env = {"ADAFT_RUNS_DIR": str(runs)}  # plain voila: the App's runs folder
    proc, port, log = start_server(runs.parent, server_argv(layout, runs, cull_idle), env=env, what=layout)
    url = f"http://127.0.0.1:{port}/"
    pool = 1 if layout == "adaft" else 0
    out: dict = {"layout": layout, "loads": [], "never_drawn": 0}  # never drawn: no figure within 120 s
    shots = Path(tempfile.gettempdir())

    def load(i: int, context=None, quiet: bool = True):
        """One page load and close (after the kernels went quiet, if ``quiet``); its timings or None."""
        waited = wait_quiet(proc.pid, pool) if quiet else 0.0
        try:
            t = load_page(browser, url, shot=shots / f"adaft-page-{layout}-{i}.png", context=context)
        except PlaywrightTimeout:
            out["never_drawn"] += 1
            print(f"  {layout} load {i}: no figure drawn within 120 s", flush=True)
            return None
        if "after_first_page" not in out:
            out["after_first_page"] = memory(proc.pid)
        return {**t, "waited_s": round(waited, 1)}

    try:
        wait_quiet(proc.pid, pool)
        out["baseline"] = memory(proc.pid)
        total = 0
        for _ in range(loads):  # a first visit each: a fresh browser profile
            total += 1
            t = load(total)
            if t:
                out["loads"].append(t)
                print(f"  {layout} load {total}: first figure {t['first_figure_ms']:.0f} ms "
                      f"(html end {t['html_end_ms']:.0f} ms)", flush=True)
        ttff = [x["first_figure_ms"] for x in out["loads"]]  # empty: no load drew its figure
        out["first_figure_ms_median"] = statistics.median(ttff) if ttff else None
        out["first_figure_ms_min"], out["first_figure_ms_max"] = (min(ttff), max(ttff)) if ttff else (None, None)
        if layout == "adaft":  # a returning visitor: the browser's cache (Plotly's bundle, compiled) kept
            context = browser.new_context(viewport={"width": 1500, "height": 1100})
            try:
                cached = []
                for k in range(loads + 1):
                    total += 1
                    t = load(total, context)
                    if t and k > 0:  # the first visit fills the cache
                        cached.append(t["first_figure_ms"])
                        print(f"  {layout} load {total} (browser cache kept): first figure "
                              f"{t['first_figure_ms']:.0f} ms", flush=True)
            finally:
                context.close()
            out["cached_first_figure_ms"] = cached
            out["cached_first_figure_ms_median"] = statistics.median(cached) if cached else None
        while layout != "no-preheat" and total < memory_loads:  # back to back, each page closed
            total += 1
            load(total, quiet=False)
        out["pages_loaded"] = total
        if layout != "no-preheat":
            out["after_loads"] = memory(proc.pid)
            if layout == "adaft":
                t0 = time.monotonic()
                from polling import wait_for

                wait_for(lambda: len(kernels(proc.pid)) <= out["baseline"]["kernels"], cull_idle * 4 + 60,
                         "the closed pages' kernels to be culled", every=0.5)
                wait_quiet(proc.pid, pool)
                out["culled_after_s"] = round(time.monotonic() - t0, 1)
                out["after_cull"] = memory(proc.pid)
    finally:
        stop_dashboard(proc, log)
    return out


def bench_page(events: list[dict], loads: int = 5, memory_loads: int = 20, cull_idle: int = 4,
               layouts=LAYOUTS) -> dict:
    """Each layout in turn (one server at a time, one browser for all)."""

    from playwright.sync_api import sync_playwright

    res: dict = {"loadavg_before": Path("/proc/loadavg").read_text().split()[:3], "cull_idle_s": cull_idle}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for layout in layouts:
                print(f"page: {layout} ...", flush=True)
                res[layout] = run_layout(layout, Path(tmp), browser, loads, memory_loads, cull_idle, events)
        finally:
            browser.close()
    res["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    medians = [res.get(k, {}).get("first_figure_ms_median") for k in ("voila", "adaft")]
    if all(medians):
        res["speedup_vs_voila"] = round(medians[0] / medians[1], 2)
    return res


NAMES = {"voila": "`voila dashboard/page/app.ipynb`", "no-preheat": "`adaft dashboard --no-preheat`",
         "adaft": "`adaft dashboard` (1 pre-heated kernel)"}


def readme_section(res: dict) -> str:
    """The page section of bench/README.md."""
    def s(ms: float | None) -> str:
        return "never" if ms is None else f"{ms / 1000:.1f} s"

    rows = []
    for layout in LAYOUTS:
        r = res[layout]
        median = s(r["first_figure_ms_median"])
        rows.append(f"| {NAMES[layout]} | {f'**{median}**' if layout == 'adaft' else median} | "
                    f"{s(r['first_figure_ms_min'])}–{s(r['first_figure_ms_max'])} | "
                    f"{s(statistics.median(x['html_end_ms'] for x in r['loads']) if r['loads'] else None)} |")
    a, v = res["adaft"], res["voila"]
    base, after, culled, first = a["baseline"], a["after_loads"], a["after_cull"], a["after_first_page"]
    table = "\n".join(rows)
    never = ", ".join(f"{k} {res[k]['never_drawn']} of {res[k]['pages_loaded']}" for k in LAYOUTS)
    return f"""
## Dashboard page (`bench/dashboard.py --page`)

{res['machine']}, {time.strftime('%Y-%m-%d', time.localtime(res['time']))}; load average (1, 5, 15 min) before
{' '.join(res['loadavg_before'])}, after {' '.join(res['loadavg_after'])}. {res.get('beside', '')}

Time to the first figure (navigation start to the first drawn Plotly trace, headless Chromium, a
fresh browser profile per load; runs folder with one finished 2,000-step run; median of
{len(a['loads'])} page loads, one at a time):

| server | first figure | min–max | HTML complete |
|---|---|---|---|
{table}

Page loads whose figure was still empty after 120 s (not in the medians; the page and its kernel
were there, Plotly's data never reached the view): {never}.

`adaft dashboard` shows its first figure **{res.get('speedup_vs_voila') or 0:.1f}×** sooner than plain Voila (target:
under 3 s on an idle machine); a returning visitor (browser cache kept) sees it in
{s(a['cached_first_figure_ms_median'])} (median of {len(a['cached_first_figure_ms'])}). Browser, server and kernels
share the 2 CPUs here.

Memory (RSS; USS in brackets: the pages only that process holds), `adaft dashboard --cull-idle {res['cull_idle_s']}`:
baseline (server + its pre-heated kernel, no page) {base['total_rss_mb']:.0f} MB ({base['total_uss_mb']:.0f} MB),
{base['kernels']} kernel; a page's kernel {max(first['kernel_rss_mb']):.0f} MB ({max(first['kernel_uss_mb']):.0f} MB);
right after {a['pages_loaded']} page loads and closes {after['total_rss_mb']:.0f} MB, {after['kernels']} kernels;
{a['culled_after_s']:.0f} s later, closed pages culled: **{culled['kernels']} kernel, {culled['total_rss_mb']:.0f} MB
({culled['total_uss_mb']:.0f} MB)**: the kernel count is back to the baseline; the server process itself grew
from {base['server_rss_mb']:.0f} to {culled['server_rss_mb']:.0f} MB. Plain `voila` after the same {v['pages_loaded']}
loads and closes: **{v['after_loads']['kernels']} kernels, {v['after_loads']['total_rss_mb']:.0f} MB** (its server
{v['after_loads']['server_rss_mb']:.0f} MB; baseline {v['baseline']['total_rss_mb']:.0f} MB, no kernel): nothing
is freed.
"""
