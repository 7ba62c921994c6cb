"""The study notebooks' modules (adaft_core/studies): grids written as the CLI writes them, dataset
lookup and evaluation samples, mask overlap per layer and per-head maps on known masks, and real
tiny sweeps (DPS-Dense, ChildTuning-D, vanilla × 2 seeds) read back into the table, the mask
comparison and the drift figures."""

from __future__ import annotations

import json

import pytest
import torch

from adaft_core.errors import DataError
from adaft_core.strategies.masks import MaskSet, jaccard, load_masks
from adaft_core.studies import datasets, drift, figures, masks_compare, sweeps

MODES = ["original", "stable", "adaptive"]


def test_study_grid_is_the_cli_sweep(tmp_path):
    """Defaults are left out, so the notebook's grid equals the one `adaft sweep` stored."""
    grid = sweeps.study_grid("wikigold-modes", {"mode": MODES, "train_fraction": [0.1, 0.25], "seed": [1, 2, 3]},
                             "/work/sweep-runs", data="wikigold", model="minilm", lr=2e-5,
                             save_model=False, save_checkpoints=False)
    assert grid.to_dict() == {"name": "wikigold-modes",
                              "factors": {"mode": MODES, "train_fraction": [0.1, 0.25], "seed": [1, 2, 3]},
                              "settings": {"output_dir": "/work/sweep-runs", "save_model": False,
                                           "save_checkpoints": False}}
    from adaft_core.sweep import grid_changes

    moved = sweeps.study_grid("wikigold-modes", grid.factors, "runs", save_model=False, save_checkpoints=False)
    assert grid_changes(grid.to_dict(), moved.to_dict()) == []  # the runs folder is where, not what
    small = sweeps.study_grid("s", {"seed": [1]}, tmp_path, model="minilm-2l", max_epochs=3)
    assert small.settings == {"output_dir": str(tmp_path), "model": "minilm-2l", "max_epochs": 3}


def test_dataset_source(tmp_path, monkeypatch):
    assert datasets.dataset_source("wikigold") == "wikigold"
    (tmp_path / "wnut17").mkdir()
    monkeypatch.setenv(datasets.DATASETS_ENV, str(tmp_path))
    assert datasets.dataset_source("wnut17") == str(tmp_path / "wnut17")
    assert datasets.dataset_source(str(tmp_path / "wnut17")) == str(tmp_path / "wnut17")
    with pytest.raises(DataError, match=datasets.DATASETS_ENV):
        datasets.dataset_source("no-such-set")


def _jsonl(path, n, tag):
    path.write_text("".join(json.dumps({"premise": f"{tag} {i}", "hypothesis": "h", "label": "neutral"}) + "\n"
                            for i in range(n)), encoding="utf-8")


def test_nli_eval_sample(tmp_path):
    src = tmp_path / "nli"
    src.mkdir()
    _jsonl(src / "x_train.jsonl", 30, "train")
    _jsonl(src / "x_dev.jsonl", 20, "dev")
    _jsonl(src / "x_test.jsonl", 25, "test")
    (src / "LICENSE.txt").write_text("text")
    out = datasets.nli_eval_sample(src, tmp_path / "sample", dev=5, test=7, seed=3)
    read = {name: (tmp_path / "sample" / name).read_text().splitlines() for name in
            ("x_train.jsonl", "x_dev.jsonl", "x_test.jsonl")}
    assert read["x_train.jsonl"] == (src / "x_train.jsonl").read_text().splitlines()
    assert len(read["x_dev.jsonl"]) == 5 and len(read["x_test.jsonl"]) == 7
    original = (src / "x_test.jsonl").read_text().splitlines()
    idx = [original.index(line) for line in read["x_test.jsonl"]]
    assert idx == sorted(idx)  # a subset, file order kept
    again = datasets.nli_eval_sample(src, tmp_path / "sample2", dev=5, test=7, seed=3)
    assert (tmp_path / "sample2" / "x_test.jsonl").read_text() == (tmp_path / "sample" / "x_test.jsonl").read_text()
    assert out == str((tmp_path / "sample").resolve()) and again == str((tmp_path / "sample2").resolve())
    from adaft_core.data.pair_sources import load_pair_splits

    assert len(load_pair_splits(out).splits["test"]) == 7


def _maskset(masks, kinds, heads=2):
    params = {n: {"layer": layer, "kind": kind, "shape": list(masks[n].shape)} for n, (layer, kind) in kinds.items()}
    return MaskSet({n: m.bool() for n, m in masks.items()}, {"params": params, "num_heads": heads})


def test_layer_overlap_known_masks():
    a0 = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0]])  # 4 kept of 8
    b0 = torch.tensor([[1, 0, 1, 0], [1, 0, 1, 0]])  # 4 kept, 2 in common, union 6
    a1 = torch.ones(2, 2, dtype=torch.int)
    b1 = torch.tensor([[1, 0], [0, 0]])
    kinds = {"l0.q": (0, "q"), "l1.ffn": (1, "ffn_in"), "l0.bias": (0, "q"), "pool": (None, "pooler")}
    a = _maskset({"l0.q": a0, "l1.ffn": a1, "l0.bias": torch.ones(4), "pool": torch.ones(2, 2)}, kinds)
    b = _maskset({"l0.q": b0, "l1.ffn": b1, "l0.bias": torch.zeros(4), "pool": torch.zeros(2, 2)}, kinds)
    table = masks_compare.layer_overlap(a, b)
    assert table["layer"].tolist() == [0, 1]  # the bias (1-D) and the pooler (no layer) are left out
    assert table["jaccard"].tolist() == pytest.approx([2 / 6, 1 / 4])
    assert table["chance"].tolist() == pytest.approx([0.25 / 0.75, 0.25 / 1.0])  # a·b / (a + b − a·b)
    assert table["kept_a"].tolist() == pytest.approx([0.5, 1.0]) and table["entries"].tolist() == [8, 4]
    with pytest.raises(DataError, match="in common"):
        masks_compare.layer_overlap(a, _maskset({"other": b0}, {"other": (0, "q")}))


def test_head_map_known_masks():
    q = torch.tensor([[1, 1], [1, 1], [1, 0], [0, 0]])  # heads = row blocks: 1.0, 0.25
    o = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0]])  # heads = column blocks: 0.75, 0.0
    ms = _maskset({"l0.q": q, "l0.o": o, "l1.q": torch.zeros(4, 2)}, {"l0.q": (0, "q"), "l0.o": (0, "o"),
                                                                      "l1.q": (1, "q")})
    frame = masks_compare.head_map(ms)
    assert list(frame.columns) == ["q0", "q1", "o0", "o1"] and list(frame.index) == [0, 1]
    assert frame.loc[0].tolist() == pytest.approx([1.0, 0.25, 0.75, 0.0])
    assert frame.loc[1, ["q0", "q1"]].tolist() == [0.0, 0.0]


def test_drift_helpers_on_a_known_frame():
    import pandas as pd

    frame = pd.DataFrame([{"strategy": s, "seed": seed, "epoch": e, "group": g, "drift": d}
                          for s, seed, base in (("a", 1, 1.0), ("a", 2, 3.0), ("b", 1, 10.0))
                          for e in (1, 2) for g, d in (("0", base * e), ("1", base * e + 1), ("head", 0.5))])
    final = drift.final_drift(frame)
    a0 = final[(final["strategy"] == "a") & (final["group"] == "0")].iloc[0]
    assert a0["mean"] == pytest.approx(4.0) and a0["std"] == pytest.approx(2 ** 0.5 * 2) and a0["runs"] == 2
    over = drift.drift_over_epochs(frame)
    b = over[over["strategy"] == "b"]
    assert b["mean"].tolist() == pytest.approx([10.5, 20.5])  # mean of layers 0 and 1, head left out
    assert sorted(["head", "10", "2", "pooler"], key=drift.group_order) == ["2", "10", "pooler", "head"]
    from adaft_core.studies.findings import drift_findings

    assert drift_findings(final).splitlines() == [
        "- `a`: ‖W − W⁰‖/‖W⁰‖ 4.5000 on average over 2 layers (4.0000–5.0000 by layer)",
        "- `b`: ‖W − W⁰‖/‖W⁰‖ 20.5000 on average over 2 layers (20.0000–21.0000 by layer)"]


@pytest.fixture(scope="module")
def tiny_study(tiny_model_dir, conll_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("study-runs")
    grid = sweeps.study_grid("tiny-strategies", {"strategy": ["dps-dense", "childtuning-d", "vanilla"],
                                                 "seed": [1, 2]}, runs,
                             model=tiny_model_dir, data=conll_dir, mode="original", max_epochs=2, warmup_epochs=0,
                             batch_size=12, lr=1e-3, eval_batch_size=16, save_model=False, save_checkpoints=False,
                             strategy_options={"telemetry": True})
    manifests = sweeps.run_sweeps([grid], runs)
    return runs, grid, manifests


def test_tiny_study_table(tiny_study):
    runs, grid, manifests = tiny_study
    assert {p.status for p in manifests["tiny-strategies"].points} == {"completed"}
    table = sweeps.study_table({"conll": "tiny-strategies"}, runs)
    assert table["data"].tolist() == ["conll"] * 3 and table["strategy"].tolist() == ["dps-dense", "childtuning-d",
                                                                                       "vanilla"]
    assert table["runs"].tolist() == [2, 2, 2] and table["train_examples"].tolist() == [48, 48, 48]
    md = sweeps.table_markdown(table, sweeps.sweep_metric("tiny-strategies", runs))
    assert "| data | strategy | train examples | runs | f1 mean ± std |" in md
    assert sweeps.run_sweeps([grid], runs)["tiny-strategies"].points[0].status == "completed"  # nothing re-ran


def test_tiny_study_masks(tiny_study):
    runs, _, _ = tiny_study
    points = sweeps.point_runs("tiny-strategies", runs).set_index(["strategy", "seed"])
    run = {f"{s} s{seed}": points.loc[(s, seed), "run_dir"] for s in ("dps-dense", "childtuning-d") for seed in (1, 2)}
    assert masks_compare.mask_file(run["dps-dense s1"]).name == "latest.safetensors"
    with pytest.raises(DataError, match="no mask event"):
        masks_compare.mask_file(points.loc[("vanilla", 1), "run_dir"])
    pairs = [("dps-dense s1", "dps-dense s2"), ("dps-dense s1", "childtuning-d s1")]
    table = masks_compare.compare_runs(run, pairs)
    assert table["layer"].tolist() == [0, 1, 0, 1]
    # layer 0 of DPS-Dense vs ChildTuning-D, recomputed from the files over the layer's weight matrices
    a, b = load_masks(run["dps-dense s1"]), load_masks(run["childtuning-d s1"])
    names = [n for n, p in a.params.items() if p["layer"] == 0 and a.masks[n].ndim == 2 and n in b.masks]
    assert len(names) == 6  # q, k, v, o, ffn in, ffn out
    expected = jaccard(torch.cat([a.masks[n].reshape(-1) for n in names]),
                       torch.cat([b.masks[n].reshape(-1) for n in names]))
    row = table[(table["pair"] == "dps-dense s1 vs childtuning-d s1") & (table["layer"] == 0)].iloc[0]
    assert row["jaccard"] == pytest.approx(expected) and row["kept_a"] == pytest.approx(0.7, abs=0.01)
    heads = masks_compare.head_map(a)
    assert heads.shape == (2, 8) and ((heads >= 0) & (heads <= 1)).all().all()
    fig = figures.overlap_figure(table)
    assert len(fig.data) == 4
    assert [list(t.x) for t in fig.data] == [[1, 2]] * 4  # layers counted from 1 like the epochs; data unchanged
    assert list(fig.data[0].y) == table["jaccard"].tolist()[:2]
    maps = figures.head_maps_figure({k: masks_compare.head_map(load_masks(v)) for k, v in run.items()})
    assert len(maps.data) == 4 and list(maps.data[0].y) == ["layer 1", "layer 2"]


def test_tiny_study_drift(tiny_study):
    runs, _, _ = tiny_study
    points = sweeps.point_runs("tiny-strategies", runs)
    frame = drift.runs_drift(points)
    assert sorted(frame["epoch"].unique()) == [1, 2]
    assert list(frame["group"].cat.categories) == ["0", "1", "head"]
    # the values are the telemetry events' own
    from adaft_core.store.run_log import read_events

    vanilla1 = points[(points["strategy"] == "vanilla") & (points["seed"] == 1)].iloc[0]
    last = [e for e in read_events(vanilla1["run_dir"] / "events.jsonl") if e["event"] == "telemetry"][-1]
    final = drift.final_drift(frame)
    got = frame[(frame["strategy"] == "vanilla") & (frame["seed"] == 1) & (frame["epoch"] == 2)]
    assert dict(zip(got["group"].astype(str), got["drift"])) == pytest.approx(last["drift"])
    assert list(dict.fromkeys(final["strategy"])) == ["dps-dense", "childtuning-d", "vanilla"]  # the grid's order
    assert final["group"].astype(str).tolist()[:3] == ["0", "1", "head"] and (final["runs"] == 2).all()
    assert (final["mean"] > 0).all()
    fig = figures.drift_figure(final, drift.drift_over_epochs(frame))
    assert len(fig.data) == 6
    assert list(fig.data[0].x) == ["1", "2", "head"]  # layers counted from 1 like the epochs


def test_modes_figure_rows_and_lines():
    import pandas as pd

    table = pd.DataFrame([{"data": d, "mode": m, "train_fraction": f, "train_examples": int(f * 1000), "runs": 3,
                           "mean": 0.5, "std": 0.1, "converged": 3, "epochs": 5.0, "wall_time": 1.0}
                          for d in ("wikigold", "wnut17") for m in MODES for f in (0.1, 0.25)])
    fig = figures.modes_figure(table, "f1")
    assert len(fig.data) == 2 * 3 * 2  # datasets × modes × (score, epochs)
    assert [t.showlegend for t in fig.data if t.showlegend] == [True] * 3
    assert list(fig.data[0].x) == [100.0, 250.0]


def test_findings_quote_the_table():
    import pandas as pd

    from adaft_core.studies import findings

    table = pd.DataFrame([{"data": "wg", "mode": m, "train_fraction": f, "train_examples": n, "runs": 3,
                           "mean": mean, "std": 0.01, "converged": conv, "epochs": ep, "wall_time": 1.0}
                          for m, f, n, mean, conv, ep in (("original", 0.1, 119, 0.001, 1, 5.0),
                                                          ("original", 0.25, 299, 0.0, 0, 5.0),
                                                          ("adaptive", 0.1, 119, 0.502, 3, 47.3),
                                                          ("adaptive", 0.25, 299, 0.597, 3, 31.7))])
    text = findings.modes_findings(table, "f1")
    assert "- **wg** (119 → 299 training examples):" in text
    assert "`adaptive`: test f1 0.502 ± 0.010 → 0.597 ± 0.010; epochs 47.3 → 31.7; converged 6/6" in text
    assert "`original`: test f1 0.001 ± 0.010 → 0.000 ± 0.010; epochs 5.0 → 5.0; converged 1/6" in text
    assert "best mean: `adaptive` at every size" in text
    tie = table.assign(mean=0.0)
    assert "best mean: `original` = `adaptive` at every size" in findings.modes_findings(tie, "f1")
    overlap = pd.DataFrame({"pair": ["a vs b"] * 2, "layer": [0, 1], "jaccard": [0.5, 0.7], "chance": [0.4, 0.4]})
    assert findings.overlap_findings(overlap) == ("- **a vs b**: 0.600 in common on average over 2 layers "
                                                  "(chance 0.400; 0.500–0.700 by layer)")
