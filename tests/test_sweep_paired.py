"""Paired comparisons against a baseline (adaft_core.sweep.paired) on synthetic rows with known answers."""

from __future__ import annotations

import math

import pytest
from scipy.stats import wilcoxon

from adaft_core.errors import ConfigError
from adaft_core.sweep.paired import PAIRED_COLUMNS, paired

SEEDS = [1, 2, 3, 4, 5]
# scores in 1/32 steps, so every difference and mean below is exact in binary floating point
VANILLA = [16 / 32, 20 / 32, 18 / 32, 22 / 32, 24 / 32]          # mean 20/32, sample variance 10/32²
DENSE_DIFF = [3 / 32, 2 / 32, 6 / 32, -1 / 32, 5 / 32]          # wins on 4 seeds, loses seed 4; mean 3/32
ALL_UP_DIFF = [1 / 32, 2 / 32, 3 / 32, 4 / 32, 5 / 32]          # wins on all 5 seeds


def rows_for(strategy, scores, train_size=None, seeds=SEEDS):
    extra = {} if train_size is None else {"train_size": train_size}
    return [{"strategy": strategy, **extra, "seed": s, "score": v} for s, v in zip(seeds, scores)]


def plus(base, diff):
    return [b + d for b, d in zip(base, diff)]


def by_strategy(table):
    return {row["strategy"]: row for _, row in table.iterrows()}


def test_wins_losses_mean_diff_p_value_and_std_ratio():
    rows = (rows_for("vanilla", VANILLA) + rows_for("dps-dense", plus(VANILLA, DENSE_DIFF))
            + rows_for("childtuning-d", plus(VANILLA, ALL_UP_DIFF)))
    table = paired(rows, ["strategy", "seed"], ("strategy", "vanilla"))
    assert list(table.columns) == ["strategy", *PAIRED_COLUMNS]
    assert list(table["strategy"]) == ["vanilla", "dps-dense", "childtuning-d"]  # order of first appearance
    rows_out = by_strategy(table)

    dense = rows_out["dps-dense"]
    assert (dense["pairs"], dense["wins"], dense["ties"], dense["losses"]) == (5, 4, 0, 1)
    assert dense["mean_diff"] == 3 / 32
    # |d| ranks 3, 2, 5, 1, 4: the one loss has rank 1, W = 1; exact P(W <= 1) = 2/32, two-sided 4/32
    assert dense["p_value"] == pytest.approx(0.125, abs=1e-12)
    assert dense["p_value"] == pytest.approx(wilcoxon(DENSE_DIFF, method="exact").pvalue, abs=1e-12)
    # sample variances: dps-dense 14.5/32², vanilla 10/32²
    assert dense["std_ratio"] == pytest.approx(math.sqrt(14.5 / 10), rel=1e-12)

    up = rows_out["childtuning-d"]
    assert (up["pairs"], up["wins"], up["ties"], up["losses"]) == (5, 5, 0, 0)
    assert up["mean_diff"] == 3 / 32
    assert up["p_value"] == pytest.approx(0.0625, abs=1e-12)  # 5 pairs, all one sign: the smallest p there is
    assert up["std_ratio"] == pytest.approx(math.sqrt(21.5 / 10), rel=1e-12)

    base = rows_out["vanilla"]  # the baseline is not compared with itself
    assert (base["pairs"], base["wins"], base["ties"], base["losses"]) == (0, 0, 0, 0)
    assert math.isnan(base["mean_diff"]) and math.isnan(base["p_value"]) and math.isnan(base["std_ratio"])


def test_only_common_seeds_are_paired():
    vanilla = rows_for("vanilla", VANILLA)
    vanilla[1]["score"] = None  # vanilla seed 2 has no score
    mix = rows_for("dps-mix", plus(VANILLA, ALL_UP_DIFF))[:4]  # dps-mix has no seed 5 at all
    table = by_strategy(paired(vanilla + mix, ["strategy", "seed"], ("strategy", "vanilla")))
    row = table["dps-mix"]
    assert (row["pairs"], row["wins"], row["losses"]) == (3, 3, 0)  # seeds 1, 3, 4
    assert row["mean_diff"] == pytest.approx((1 + 3 + 4) / 3 / 32, abs=1e-15)
    assert row["p_value"] == pytest.approx(wilcoxon([1, 3, 4], method="exact").pvalue, abs=1e-12)
    assert row["p_value"] == pytest.approx(0.25, abs=1e-12)  # 3 pairs, all one sign: 2/8


def test_ties_too_few_pairs_and_zero_spread_give_nan():
    rows = (rows_for("vanilla", VANILLA) + rows_for("same", VANILLA)
            + rows_for("one", [0.9], seeds=[3]) + rows_for("flat-base", [0.5] * 5))
    table = by_strategy(paired(rows, ["strategy", "seed"], ("strategy", "vanilla")))
    same = table["same"]
    assert (same["pairs"], same["ties"], same["mean_diff"]) == (5, 5, 0.0)
    assert math.isnan(same["p_value"])  # every difference 0: nothing to rank
    assert same["std_ratio"] == 1.0
    one = table["one"]
    assert one["pairs"] == 1 and math.isnan(one["p_value"]) and math.isnan(one["std_ratio"])
    assert one["mean_diff"] == pytest.approx(0.9 - VANILLA[2])
    # against a baseline with zero spread the ratio is undefined
    flat = by_strategy(paired(rows, ["strategy", "seed"], ("strategy", "flat-base")))
    assert math.isnan(flat["vanilla"]["std_ratio"]) and flat["vanilla"]["pairs"] == 5


def test_second_factor_pairs_within_the_same_train_size():
    small = [v - 0.25 for v in VANILLA]
    rows = (rows_for("vanilla", VANILLA, 1000) + rows_for("dps-dense", plus(VANILLA, DENSE_DIFF), 1000)
            + rows_for("vanilla", small, 500) + rows_for("dps-dense", plus(small, ALL_UP_DIFF), 500)
            + rows_for("dps-dense", VANILLA, 250))  # no vanilla at 250: nothing to pair with
    table = paired(rows, ["strategy", "train_size", "seed"], ("strategy", "vanilla"))
    assert list(table.columns) == ["strategy", "train_size", *PAIRED_COLUMNS]
    cells = {(r["strategy"], r["train_size"]): r for _, r in table.iterrows()}
    assert list(cells) == [("vanilla", 1000), ("dps-dense", 1000), ("vanilla", 500), ("dps-dense", 500),
                           ("dps-dense", 250)]
    assert (cells["dps-dense", 1000]["wins"], cells["dps-dense", 1000]["losses"]) == (4, 1)
    assert cells["dps-dense", 1000]["mean_diff"] == 3 / 32
    assert (cells["dps-dense", 500]["wins"], cells["dps-dense", 500]["losses"]) == (5, 0)
    assert cells["dps-dense", 500]["mean_diff"] == pytest.approx(3 / 32, abs=1e-15)
    assert cells["dps-dense", 500]["p_value"] == pytest.approx(0.0625, abs=1e-12)
    assert cells["dps-dense", 250]["pairs"] == 0 and math.isnan(cells["dps-dense", 250]["p_value"])
    # the baseline may be a train size too: 500 vs 1000 within each strategy
    by_size = paired(rows, ["strategy", "train_size", "seed"], ("train_size", 1000))
    row = by_size[(by_size["strategy"] == "vanilla") & (by_size["train_size"] == 500)].iloc[0]
    assert (row["pairs"], row["losses"], row["mean_diff"]) == (5, 5, -0.25)


def test_no_scores_gives_an_empty_table():
    rows = [{"strategy": "vanilla", "seed": 1, "score": None}, {"strategy": "dps-dense", "seed": 1, "score": None}]
    table = paired(rows, ["strategy", "seed"], ("strategy", "vanilla"))
    assert table.empty and list(table.columns) == ["strategy", *PAIRED_COLUMNS]


@pytest.mark.parametrize("factors, baseline, words", [
    (["strategy"], ("strategy", "vanilla"), "do not include seed"),
    (["strategy", "seed"], ("seed", 1), "choices: strategy"),
    (["strategy", "seed"], ("mode", "original"), "choices: strategy"),
    (["strategy", "seed"], ("strategy", "dps-sparse"), "choices: vanilla, dps-dense"),
    (["strategy", "seed"], "vanilla", "baseline must be (factor, value)"),
])
def test_bad_input_is_a_config_error(factors, baseline, words):
    rows = rows_for("vanilla", VANILLA) + rows_for("dps-dense", VANILLA)
    with pytest.raises(ConfigError) as info:
        paired(rows, factors, baseline)
    assert words in str(info.value)


def _write_point_run(root, run_id, *, val, test):
    """A finished run's log and run.json with known validation and test scores."""
    import json

    folder = root / run_id
    folder.mkdir(parents=True)
    events = [
        {"event": "run_started", "run_id": run_id, "seq": 0, "time": 1000.0, "task": "classification",
         "mode": "original", "strategy": "x", "metric": "accuracy", "config": {}},
        {"event": "eval", "run_id": run_id, "seq": 1, "time": 1001.0, "epoch": 0, "step": 10,
         "split": "validation", "loss": 0.5, "metric": "accuracy", "score": val, "metrics": {"accuracy": val}},
        {"event": "run_ended", "run_id": run_id, "seq": 2, "time": 1002.0, "status": "completed", "epochs": 1,
         "steps": 10, "best_epoch": 0, "final_model": "last", "val": {"accuracy": val},
         "test": {"accuracy": test}, "wall_time": 5.0, "error": None},
    ]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "status": "completed", "config": {}}))


def test_sweep_report_prints_the_paired_columns_and_chooses_the_split(tmp_path, capsys):
    """`adaft sweep report NAME --baseline strategy=vanilla [--split validation]` on synthetic logs."""
    from adaft_core.cli import main
    from adaft_core.sweep import Manifest, make_grid

    grid = make_grid({"strategy": ["vanilla", "dps-dense"], "seed": SEEDS}, name="syn")
    manifest = Manifest.for_grid(grid)
    manifest.save(tmp_path)
    test = {"vanilla": VANILLA, "dps-dense": plus(VANILLA, DENSE_DIFF)}
    for p in manifest.points:
        i = p.values["seed"] - 1
        # validation: dps-dense below vanilla on every seed (the opposite of the test split)
        val = VANILLA[i] - (0 if p.values["strategy"] == "vanilla" else ALL_UP_DIFF[i])
        _write_point_run(tmp_path, p.run_id, val=val, test=test[p.values["strategy"]][i])
    assert main(["sweep", "report", "syn", "--output-dir", str(tmp_path), "--baseline", "strategy=vanilla"]) == 0
    out = capsys.readouterr().out
    assert "| wins/ties/losses vs vanilla | mean diff | p (Wilcoxon) | std ratio |" in out
    dense = next(line for line in out.splitlines() if line.startswith("| dps-dense"))
    assert "| 4/0/1 | +0.094 | 0.125 |" in dense  # 3/32 = 0.09375; exact p for ranks {+3,+2,+5,-1,+4}
    assert "test accuracy mean ± std" in out
    assert main(["sweep", "report", "syn", "--output-dir", str(tmp_path), "--baseline", "strategy=vanilla",
                 "--split", "validation"]) == 0
    out = capsys.readouterr().out
    dense = next(line for line in out.splitlines() if line.startswith("| dps-dense"))
    assert "validation accuracy mean ± std" in out and "| 0/0/5 | -0.094 | 0.062 |" in dense
    assert "0/0/5" in (tmp_path / "sweeps" / "syn" / "report.md").read_text()
    assert main(["sweep", "report", "syn", "--output-dir", str(tmp_path), "--baseline", "seed=1"]) == 2
    assert "not a factor of this sweep other than seed" in capsys.readouterr().err
    assert main(["sweep", "report", "syn", "--output-dir", str(tmp_path), "--baseline", "strategy=nope"]) == 2
    assert "choices: vanilla, dps-dense" in capsys.readouterr().err


def test_default_baseline_is_vanilla_or_original_with_seeds():
    from adaft_core.sweep.paired import default_baseline

    assert default_baseline({"strategy": ["vanilla", "dps-dense"], "seed": [1, 2]}) == ("strategy", "vanilla")
    assert default_baseline({"mode": ["original", "adaptive"], "seed": [1, 2]}) == ("mode", "original")
    assert default_baseline({"strategy": ["vanilla", "dps-dense"], "seed": [1]}) is None
    assert default_baseline({"lr": [1e-4, 2e-4], "seed": [1, 2]}) is None


def test_headers_name_the_baseline_and_an_on_off_factor_in_full():
    from adaft_core.sweep.paired import paired_headers, parse_baseline

    assert paired_headers(("strategy", "vanilla"))[0] == "wins/ties/losses vs vanilla"
    baseline = parse_baseline("padding_free=false", {"padding_free": [False, True], "seed": [1, 2]})
    assert baseline == ("padding_free", False)
    assert paired_headers(baseline)[0] == "wins/ties/losses vs padding_free=false"
