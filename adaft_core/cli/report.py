"""``adaft report RUN|--sweep NAME -o page.html``: a finished run or sweep as one HTML page that opens
offline in any browser (the dashboard's figures, drawn by ``adaft_dashboard.views.report_page``)."""

from __future__ import annotations

import argparse

from adaft_core.errors import ConfigError

REPORT_EPILOG = """examples:
  adaft report my-run -o my-run.html              # loss, LR, validation, decisions, scores, masks
  adaft report --sweep study -o study.html        # the sweep's table and figure
"""


def add_report_parser(sub) -> None:
    r = sub.add_parser("report", help="a run or a sweep as one self-contained HTML page",
                       epilog=REPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Write a run's figures (training loss, learning rate with its phases, "
                                   "validation with the decisions), its decisions in words, its scores (per type) "
                                   "and masks, or a sweep's table and figure, as one HTML file with Plotly inlined: "
                                   "it opens offline, without a server or a kernel.")
    r.add_argument("run", nargs="?", metavar="RUN", help="a run id, a unique beginning of one, or a run folder")
    r.add_argument("--sweep", metavar="NAME", help="report this sweep instead (runs/sweeps/NAME)")
    r.add_argument("-o", "--out", required=True, metavar="PAGE.html", help="the page to write")
    r.add_argument("--output-dir", default="runs", metavar="RUNS", help="the runs folder (default: %(default)s)")


def cmd_report(args: argparse.Namespace) -> int:
    from adaft_core.store.runs import find_run

    if bool(args.run) == bool(args.sweep):
        raise ConfigError("give a run (adaft report RUN -o PAGE.html) or --sweep NAME, not both or neither")
    from adaft_dashboard.views.report_page import run_page, sweep_page, write_page

    if args.sweep:
        from adaft_core.sweep import sweep_status

        sweep_status(args.sweep, args.output_dir)  # an unknown sweep: one message naming the known ones
        page = sweep_page(args.sweep, args.output_dir)
    else:
        page = run_page(find_run(args.output_dir, args.run))
    out = write_page(page, args.out)
    print(f"page: {out} ({out.stat().st_size / 1e6:.1f} MB; opens offline in any browser)")
    return 0
