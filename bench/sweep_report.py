"""Put a finished sweep's table and a PNG of its figure into bench/README.md.

The PNG is a screenshot of the sweep's standalone ``figure.html`` taken by headless Chromium
(Debian's ``/usr/bin/chromium`` through Playwright), so no image-export package is needed.

    python bench/sweep_report.py wikigold-modes --runs /path/to/runs \\
        --command "adaft sweep --mode original,stable,adaptive ..." --note "..."

``--level 3`` writes the section's heading as ``###``, for a sweep that belongs under another
section (the DPS study's sweeps under "DPS study", padfree-quality under the throughput section).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from readme_section import replace_section  # noqa: E402  (bench/ is on sys.path)


def screenshot(html: Path, png: Path, width: int = 1000, height: int = 440) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(html.resolve().as_uri())
        page.wait_for_selector(".main-svg", timeout=30_000)
        page.screenshot(path=str(png))
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--command", required=True, help="the command that ran the sweep (quoted in the README)")
    ap.add_argument("--note", default="", help="a paragraph on what the table shows")
    ap.add_argument("--split", choices=("test", "validation"), default="test", help="the score aggregated")
    ap.add_argument("--baseline", metavar="FACTOR=VALUE", help="paired columns against this cell (strategy=vanilla)")
    ap.add_argument("--level", type=int, choices=(2, 3), default=2,
                    help="the heading level of the section (3: inside another section)")
    args = ap.parse_args()

    from adaft_core.sweep import report, sweep_status, write_report_files
    from adaft_core.sweep.aggregate import to_markdown
    from adaft_core.sweep.paired import parse_baseline

    manifest = sweep_status(args.name, args.runs)
    baseline = parse_baseline(args.baseline, manifest.grid["factors"]) if args.baseline else None
    md, html = write_report_files(args.name, args.runs, split=args.split, baseline=baseline)
    png = HERE / "results" / f"sweep-{args.name}.png"
    screenshot(html, png)
    table = to_markdown(report(args.name, args.runs, split=args.split, baseline=baseline),
                        f"{args.split} {manifest.metric or 'score'}", baseline)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(manifest.counts().items()))
    wall = sum(p.wall_time or 0 for p in manifest.points)
    body = (f"{'#' * args.level} Sweep: {args.name}\n\nCommand: `{args.command}`\n\n"
            f"{len(manifest.points)} points ({counts}); {wall / 60:.0f} min of run wall time in total.\n\n"
            f"{table}\n\n![{args.name}](results/{png.name})\n\n{args.note}\n")
    replace_section(HERE / "README.md", f"sweep-{args.name}", body)
    print(body)


if __name__ == "__main__":
    main()
