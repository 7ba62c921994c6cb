"""``adaft report`` (adaft_dashboard.views.report_page): a run or a sweep as one self-contained page, without
a browser — what the page holds, its size for a 50-epoch run, the CLI, the tabs' "export page"
buttons. tests/test_report_browser.py opens such pages in Chromium."""

from __future__ import annotations

import pytest

pytest.importorskip("plotly")
pytest.importorskip("ipywidgets")

from report_inputs import LIMIT, long_run, small_sweep  # noqa: E402

from adaft_core.cli import main  # noqa: E402
from adaft_dashboard.views.report_page import run_page  # noqa: E402


def test_a_50_epoch_run_page_holds_every_part_and_is_under_5_mb(tmp_path):
    folder = long_run(tmp_path / "runs")
    page = run_page(folder)
    assert len(page.encode()) < LIMIT, len(page.encode())
    assert page.count("Plotly.newPlot") == 3  # curves, mask heatmaps, inside a matrix
    assert page.count("/**\n* plotly.js") <= 1 and page.count("<script src=") == 0  # inlined once, nothing fetched
    assert "learning rate per step" in page and "validation (per epoch)" in page
    assert "adaft-decision-row" in page and page.count("adaft-decision-row") == 50  # every decision in words
    assert "per type, test" in page and ">PER<" in page and ">LOC<" in page
    assert "the last of 10 selections" in page


def test_adaft_report_writes_run_and_sweep_pages_and_says_where(tmp_path, capsys):
    runs = tmp_path / "runs"
    long_run(runs, epochs=5, spe=4)
    small_sweep(runs)
    out = tmp_path / "pages" / "run.html"
    assert main(["report", "long-run", "-o", str(out), "--output-dir", str(runs)]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", "--sweep", "syn", "-o", str(tmp_path / "sweep.html"), "--output-dir", str(runs)]) == 0
    page = (tmp_path / "sweep.html").read_text()
    assert "f1 mean ± std" in page and "syn-adaptive-tf0.2-s1" in page and page.count("Plotly.newPlot") == 1
    assert main(["report", "nope", "-o", str(out), "--output-dir", str(runs)]) == 2
    assert main(["report", "--sweep", "nope", "-o", str(out), "--output-dir", str(runs)]) == 2
    assert main(["report", "-o", str(out), "--output-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "give a run" in err and "Traceback" not in err


def test_the_runs_and_sweeps_tabs_export_pages_into_the_runs_folder(tmp_path):
    from adaft_dashboard.app import App

    runs = tmp_path / "runs"
    long_run(runs, epochs=5, spe=4)
    small_sweep(runs)
    app = App(runs, autostart=False, table_interval=0.0)
    try:
        app.tick()
        assert app.table.export_pages() == [] and "select a run" in app.table.message.value
        app.table.select.value = ("long-run",)
        [path] = app.table.export_pages()
        assert path.parent == runs / "exports" and path.name.startswith("long-run-")
        assert str(path) in app.table.message.value and "Plotly.newPlot" in path.read_text()
        app.sweeps.update(now=1e9)
        sweep_path = app.sweeps.export()
        assert sweep_path.parent == runs / "exports" and str(sweep_path) in app.sweeps.message.value
    finally:
        app.close()
    from adaft_core.store.runs import list_runs

    assert "exports" not in [s.run_id for s in list_runs(runs)]  # exports/ is not a run
