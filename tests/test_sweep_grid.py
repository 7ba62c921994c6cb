"""Sweeps without training: grid expansion (flags, TOML), names, bad input, manifest and aggregation."""

from __future__ import annotations

import math
import statistics

import pytest
from run_folders import write_finished_run

from adaft_core.errors import ConfigError
from adaft_core.sweep import Manifest, make_grid, read_grid_file, report, write_report_files
from adaft_core.sweep.aggregate import aggregate
from adaft_core.sweep.grid import parse_values, point_run_name
from adaft_core.sweep.manifest import sweep_dir


def test_grid_from_flag_values_expands_in_order():
    grid = make_grid({"mode": "original,adaptive", "train_fraction": "0.1,0.25", "seed": "1,2,3"})
    points = grid.points()
    assert len(points) == 12
    assert points[0] == {"mode": "original", "train_fraction": 0.1, "seed": 1}
    assert points[1] == {"mode": "original", "train_fraction": 0.1, "seed": 2}  # the last factor fastest
    assert points[-1] == {"mode": "adaptive", "train_fraction": 0.25, "seed": 3}
    assert grid.sweep_name() == "mode-train_fraction-seed"
    assert isinstance(points[0]["seed"], int) and isinstance(points[0]["train_fraction"], float)


def test_grid_from_toml(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('name = "study"\n[grid]\nmode = ["stable", "adaptive"]\nseed = [1, 2]\n'
                    '[settings]\nmax_epochs = 3\nmodel = "minilm-2l"\n')
    grid = read_grid_file(path)
    assert grid.sweep_name() == "study"
    assert grid.settings == {"max_epochs": 3, "model": "minilm-2l"}
    assert [p["mode"] for p in grid.points()] == ["stable", "stable", "adaptive", "adaptive"]


def test_run_names_are_deterministic_and_safe():
    name = point_run_name("study", {"mode": "adaptive", "train_fraction": 0.1, "seed": 1})
    assert name == "study-adaptive-tf0.1-s1"
    a = point_run_name("s", {"data": "../shared/datasets/snli"})
    b = point_run_name("s", {"data": "/other/place/snli"})
    assert a != b and "/" not in a and a.startswith("s-data-snli.")
    assert point_run_name("s", {"data": "wikigold"}) == "s-data-wikigold"


@pytest.mark.parametrize("factors, message", [
    ({}, "grid is empty"),
    ({"epochs": [1, 2]}, "unknown sweep factor 'epochs'"),
    ({"seed": "1,x"}, "expected a whole number"),
    ({"seed": "1,,2"}, "none empty"),
    ({"lr": "fast"}, "expected a number"),
    ({"seed": [1, 1]}, "lists a value twice"),
    ({"padding_free": "true,maybe"}, "expected true or false, got 'maybe'"),
    ({"padding_free": [1, 0]}, "expected true or false"),
])
def test_bad_grids_are_one_clear_message(factors, message):
    with pytest.raises(ConfigError, match=message):
        make_grid(factors)


def test_factor_given_twice_and_run_name_are_refused():
    with pytest.raises(ConfigError, match="both a sweep factor and a fixed setting"):
        make_grid({"seed": [1]}, {"seed": 2})
    with pytest.raises(ConfigError, match="run_name is set by the sweep"):
        make_grid({"seed": [1]}, {"run_name": "x"})
    with pytest.raises(ConfigError, match="unknown sweep factor"):
        parse_values("colour", "red")


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[grid]\nmode = ["original"\nseed = [1]\n')
    with pytest.raises(ConfigError, match=r"bad\.toml:\d+: TOML syntax error"):
        read_grid_file(path)
    with pytest.raises(ConfigError, match="cannot read sweep file"):
        read_grid_file(tmp_path / "missing.toml")


def test_bad_value_of_a_point_stops_before_anything_is_written(tmp_path):
    from adaft_core.sweep import run_sweep

    grid = make_grid({"mode": ["original", "sometimes"], "seed": [1]}, name="bad")
    with pytest.raises(ConfigError, match="sweep point .*mode=sometimes.*unknown mode"):
        run_sweep(grid, output_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_changed_grid_is_refused_unless_extended(tmp_path):
    from adaft_core.sweep import prepare_manifest

    grid = make_grid({"seed": [1, 2]}, {"mode": "original"}, name="g")
    Manifest.for_grid(grid).save(tmp_path)
    with pytest.raises(ConfigError, match=r"another grid \(factor seed: \[1, 2\] -> \[1, 2, 3\]\)"):
        prepare_manifest(make_grid({"seed": [1, 2, 3]}, {"mode": "original"}, name="g"), tmp_path)
    extended = prepare_manifest(make_grid({"seed": [3]}, {"mode": "original"}, name="g"), tmp_path, extend=True)
    assert [p.values["seed"] for p in extended.points] == [1, 2, 3]
    with pytest.raises(ConfigError, match="fixed settings differ"):
        prepare_manifest(make_grid({"seed": [3]}, {"mode": "stable"}, name="g"), tmp_path, extend=True)


def test_report_on_synthetic_run_logs_has_known_means_and_stds(tmp_path):
    grid = make_grid({"mode": ["original", "adaptive"], "train_fraction": [0.1], "seed": [1, 2, 3]}, name="syn")
    manifest = Manifest.for_grid(grid)
    manifest.save(tmp_path)
    scores = {"original": [0.5, 0.0, 0.7], "adaptive": [0.6, 0.62, 0.64]}
    for p in manifest.points:
        s = scores[p.values["mode"]][p.values["seed"] - 1]
        write_finished_run(tmp_path, p.run_id, score=s, epochs=p.values["seed"] + 2, wall=10.0 * p.values["seed"])
    table = report("syn", tmp_path)
    assert list(table.columns) == ["mode", "train_fraction", "runs", "mean", "std", "converged", "epochs",
                                   "wall_time"]
    row = table.set_index("mode").loc["original"]
    assert row["runs"] == 3 and row["converged"] == 2
    assert math.isclose(row["mean"], statistics.mean([0.5, 0.0, 0.7]))
    assert math.isclose(row["std"], statistics.stdev([0.5, 0.0, 0.7]))  # sample std (n - 1)
    assert math.isclose(row["epochs"], 4.0) and math.isclose(row["wall_time"], 20.0)
    assert table.set_index("mode").loc["adaptive", "converged"] == 3
    md, html = write_report_files("syn", tmp_path)
    assert md.parent == sweep_dir(tmp_path, "syn") and "± " in md.read_text()
    assert "plotly" in html.read_text()[:5000].lower()


def test_aggregate_skips_points_without_score_and_handles_a_single_run():
    rows = [{"mode": "a", "seed": 1, "score": 0.4, "epochs": 3, "wall_time": 5.0},
            {"mode": "a", "seed": 2, "score": None, "epochs": None, "wall_time": None}]
    table = aggregate(rows, ["mode", "seed"])
    assert table.loc[0, "runs"] == 1 and math.isnan(table.loc[0, "std"])


def test_strategy_options_can_be_factors(tmp_path):
    """keep_fraction / stage_steps vary like settings and land in each point's strategy_options."""
    from adaft_core.sweep import point_configs

    grid = make_grid({"keep_fraction": [0.5, 0.9], "seed": [1]},
                     {"strategy": "dps-dense", "strategy_options": {"update_ratio": 0.1}, "task": "classification",
                      "model": "minilm-2l", "data": "snli"}, name="kf")
    configs = point_configs(grid, str(tmp_path))
    assert [c["strategy_options"] for c in configs] == [{"update_ratio": 0.1, "keep_fraction": 0.5},
                                                        {"update_ratio": 0.1, "keep_fraction": 0.9}]
    assert [c["run_name"] for c in configs] == ["kf-kf0.5-s1", "kf-kf0.9-s1"]
    assert "keep_fraction" not in configs[0]
    with pytest.raises(ConfigError, match="both a sweep factor and a fixed strategy option"):
        make_grid({"keep_fraction": [0.5]}, {"strategy_options": {"keep_fraction": 0.7}})
    with pytest.raises(ConfigError, match="sweep point .*keep_fraction=1.5"):
        point_configs(make_grid({"keep_fraction": [1.5]}, {"strategy": "dps-dense"}, name="bad"), str(tmp_path))


def test_padding_free_is_an_on_off_factor(tmp_path):
    """padding_free varies as true/false (TOML booleans or text), named on/off, into each point's settings."""
    from adaft_core.sweep import point_configs

    assert parse_values("padding_free", "false,TRUE") == [False, True]
    path = tmp_path / "pf.toml"
    path.write_text('name = "pf"\n[grid]\npadding_free = [false, true]\nseed = [1]\n'
                    '[settings]\nmodel = "minilm-2l"\n')
    configs = point_configs(read_grid_file(path), str(tmp_path))
    assert [(c["run_name"], c["padding_free"]) for c in configs] == [("pf-pfoff-s1", False), ("pf-pfon-s1", True)]
