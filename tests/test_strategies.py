"""Stage schedule, parameter scope, mask helpers and DPS-Dense (``docs/dps.md``), on tiny BERT,
RoBERTa, DistilBERT, ELECTRA and MPNet models built from configs."""

from __future__ import annotations

import math

import pytest
import torch
from strategy_tools import ARCHS, Recorder, drive, fake_batches, grads_of, setup, tiny_model

from adaft_core.errors import ConfigError
from adaft_core.strategies import STRATEGIES, make_strategy, strategy_options
from adaft_core.strategies.masks import (downsample, global_threshold, kept_count, load_masks, mask_overlap,
                                         mask_summary, matrix_threshold)
from adaft_core.strategies.stages import is_stage_start, schedule, stage_length
from adaft_core.strategies.scope import childtuning_d_scope, describe_params, dps_scope

# ---------------------------------------------------------------------------------------- schedule


def test_schedule_s4_and_s1():
    assert schedule(17, 4) == ["I"] * 4 + ["II"] * 4 + ["I"] * 4 + ["II"] * 4 + ["I"]
    assert schedule(6, 1) == ["I", "II", "I", "II", "I", "II"]
    assert [t for t in range(1, 13) if is_stage_start(t, 4)] == [1, 5, 9]


def test_stage_length_rules():
    assert stage_length(update_ratio=0.05, total_steps=1000, steps_per_epoch=100) == 50
    assert stage_length(update_ratio=0.05, total_steps=60, steps_per_epoch=20) == 3  # not 2 by float noise
    assert stage_length(update_ratio=0.05, total_steps=8, steps_per_epoch=4) == 1  # at least 1
    assert stage_length(update_ratio=0.05, total_steps=None, steps_per_epoch=100) == 15  # adaptive: 0.15 epoch
    assert stage_length(update_ratio=0.05, total_steps=None, steps_per_epoch=4) == 1
    assert stage_length(update_ratio=0.05, total_steps=1000, steps_per_epoch=100, stage_steps=7) == 7


# ---------------------------------------------------------------------------------------- scope


@pytest.mark.parametrize("arch", ARCHS)
def test_scope_finds_layers_and_kinds(arch):
    model = tiny_model(arch)
    infos = dps_scope(model)
    per_layer = [[i.kind for i in infos if i.layer == layer] for layer in (0, 1)]
    assert per_layer == [["q", "k", "v", "o", "ffn_in", "ffn_out"]] * 2
    assert [i.kind for i in infos if i.layer is None] == ["head"]
    assert all(i.param.ndim == 2 and i.name.endswith("weight") for i in infos)
    assert not any("embed" in i.name for i in infos)  # ELECTRA's embeddings_project stays out
    names = dict(model.named_parameters())
    assert all(names[i.name] is i.param for i in infos)
    ct = childtuning_d_scope(model)
    assert {i.kind for i in ct} == {"q", "k", "v", "o", "ffn_in", "ffn_out", "norm"}
    assert any(i.name.endswith("bias") for i in ct) and all(i.layer in (0, 1) for i in ct)
    assert len(describe_params(model)) == len(list(model.parameters()))


@pytest.mark.parametrize("arch", ARCHS)
def test_scope_sequence_heads_and_pooler(arch):
    infos = dps_scope(tiny_model(arch, sequence=True))
    outside = [i.kind for i in infos if i.layer is None]
    assert outside == {"bert": ["pooler", "head"], "roberta": ["head", "head"], "distilbert": ["head", "head"],
                       "electra": ["head", "head"], "mpnet": ["head", "head"]}[arch]


# ---------------------------------------------------------------------------------------- mask helpers


def test_kept_count_and_thresholds():
    assert kept_count(100, 0.7) == 70 and kept_count(10, 0.05) == 1 and kept_count(3, 1.0) == 3
    x = torch.tensor([[3.0, 1.0], [2.0, 2.0]])
    assert int((x >= matrix_threshold(x, 2)).sum()) == 3  # ties at the threshold are kept
    g = torch.Generator().manual_seed(0)
    ts = [torch.rand(5, 7, generator=g), torch.rand(11, generator=g), torch.zeros(4), torch.rand(3, 3, generator=g)]
    flat = torch.cat([t.reshape(-1) for t in ts])
    for k in (1, 10, 40, flat.numel()):
        assert global_threshold(ts, k) == float(flat.sort(descending=True).values[k - 1])


def test_bit_counts_need_no_numpy_2(monkeypatch):
    """Mask events and overlaps count bits without ``np.bitwise_count`` (NumPy >= 2 only)."""
    import numpy as np

    from adaft_core.strategies.masks import count_bits, jaccard_packed, pack
    from adaft_core.strategies.scope import dps_scope
    from adaft_core.strategies.telemetry import MaskReporter

    infos = dps_scope(tiny_model("bert"))[:2]  # (built first: SciPy's import needs bitwise_count on NumPy 2)
    monkeypatch.delattr(np, "bitwise_count", raising=False)  # as on NumPy 1.24
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, 999, dtype=np.uint8), rng.integers(0, 256, 999, dtype=np.uint8)
    assert count_bits(a) == int(np.unpackbits(a).sum()) and count_bits(np.zeros(3, np.uint8)) == 0
    ua, ub = np.unpackbits(a).astype(bool), np.unpackbits(b).astype(bool)
    assert jaccard_packed(a, b) == pytest.approx((ua & ub).sum() / (ua | ub).sum())
    assert count_bits(np.full(10**6, 255, np.uint8)) == 8 * 10**6  # no uint8 overflow in the sum
    rec = Recorder()
    reporter = MaskReporter("dps-dense", 0.5, infos, 2, "none")
    reporter.emit = rec
    masks = {i.name: torch.rand(i.param.shape, generator=torch.Generator().manual_seed(1)) < 0.3 for i in infos}
    reporter.report(2, "II", masks)
    reporter.report(4, "II", {n: ~m for n, m in masks.items()})
    first, second = rec.of("mask")
    for entry in first["modules"]:
        assert entry["kept"] == pytest.approx(float(masks[entry["name"]].float().mean()))
        assert count_bits(pack(masks[entry["name"]])) == int(masks[entry["name"]].sum())
    assert all(entry["overlap_prev"] == 0.0 for entry in second["modules"])


def test_options_and_errors():
    assert set(STRATEGIES) == {"vanilla", "dps-dense", "dps-mix", "childtuning-d", "childtuning-f"}
    assert "fisher_batches" in strategy_options("childtuning-d")
    with pytest.raises(ConfigError, match="no option 'fisher_batches'.*valid options: keep_fraction"):
        make_strategy("dps-dense", {"fisher_batches": 2})
    with pytest.raises(ConfigError, match="keep_fraction must be"):
        make_strategy("childtuning-f", {"keep_fraction": 0})
    with pytest.raises(ConfigError, match="save_masks"):
        make_strategy("dps-mix", {"save_masks": "sometimes"})
    with pytest.raises(ConfigError, match="valid choices"):
        make_strategy("dps", {})
    assert make_strategy("dps-dense", {"keep_fraction": 0.5}).keep_fraction == 0.5


def test_config_and_cli_reject_bad_options_before_training():
    from adaft_core import TrainConfig
    from adaft_core.cli import build_parser, config_from_args

    with pytest.raises(ConfigError, match="no option 'update_ratio'"):
        TrainConfig(strategy="childtuning-f", strategy_options={"update_ratio": 0.1}).validated()
    args = build_parser().parse_args(["train", "--strategy", "dps-dense", "--keep-fraction", "0.6",
                                      "--stage-steps", "3"])
    assert config_from_args(args).strategy_options == {"keep_fraction": 0.6, "stage_steps": 3}
    args = build_parser().parse_args(["train", "--strategy", "vanilla"])
    assert config_from_args(args).strategy_options == {}
    args = build_parser().parse_args(["train", "--strategy", "dps-mix", "--fisher-batches", "3"])
    with pytest.raises(ConfigError, match="--fisher-batches does not apply to strategy 'dps-mix'"):
        config_from_args(args)


# ---------------------------------------------------------------------------------------- DPS-Dense


def _dense(model, S=2, keep=0.7, **kw):
    rec = Recorder()
    s = setup(make_strategy("dps-dense", {"stage_steps": S, "keep_fraction": keep, **kw.pop("options", {})}),
              model, emit=rec, **kw)
    return s, rec


@pytest.mark.parametrize("arch", ARCHS)
def test_dense_statistic_sums_preceding_stage_one_only(arch):
    model = tiny_model(arch)
    s, _ = _dense(model, S=2)
    raw: dict[int, dict] = {}
    stats_before_select: dict[int, dict] = {}

    def spy(point, step):
        if point == "raw":
            raw[step] = grads_of(s.infos)
        if point == "clipped" and step in (2, 6):
            stats_before_select[step] = {k: v.clone() for k, v in s.statistic.sums.items()}

    drive(s, model, fake_batches(6), steps=6, spy=spy)
    for step, used in ((2, (1, 2)), (6, (5, 6))):  # the statistic is reset at each Stage I start
        for name, stat in stats_before_select[step].items():
            expected = sum(raw[t][name].double() ** 2 for t in used).float()
            torch.testing.assert_close(stat, expected, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("arch", ARCHS)
def test_dense_selection_keeps_ceil_and_masks_before_clipping(arch):
    model = tiny_model(arch)
    s, rec = _dense(model, S=2, keep=0.7)
    seen: dict[str, dict] = {}
    everything = [p for p in model.parameters()]

    def spy(point, step):
        if step == 3:
            seen[point] = {id(p): p.grad.clone() for p in everything if p.grad is not None}

    drive(s, model, fake_batches(4), steps=4, spy=spy, max_norm=1e-3)  # clipping certainly active
    for info in s.infos:
        mask = s.masks[info.name]
        assert mask.dtype == torch.bool and mask.shape == info.param.shape
        assert int(mask.sum()) == kept_count(mask.numel(), 0.7)  # no ties among random statistics
        raw, masked = seen["raw"][id(info.param)], seen["masked"][id(info.param)]
        torch.testing.assert_close(masked, raw * mask)
    # the clip saw the masked gradients: its norm is that of the masked (not the raw) gradients
    masked_norm = torch.sqrt(sum(g.double().pow(2).sum() for g in seen["masked"].values()))
    coef = 1e-3 / (float(masked_norm) + 1e-6)
    for pid, g in seen["clipped"].items():
        torch.testing.assert_close(g, seen["masked"][pid] * coef, rtol=1e-4, atol=1e-12)
    event = rec.of("mask")[0]
    assert event["step"] == 3 and event["stage"] == "II" and event["strategy"] == "dps-dense"
    assert event["keep_fraction"] == 0.7
    assert [m["name"] for m in event["modules"]] == [i.name for i in s.infos]
    assert all(m["overlap_prev"] is None and abs(m["kept"] - 0.7) < 0.01 for m in event["modules"])
    assert {m["kind"] for m in event["modules"]} >= {"q", "k", "v", "o", "ffn_in", "ffn_out", "head"}
    assert all(len(m["per_head"]) == 2 for m in event["modules"] if m["kind"] in "qkvo")


def test_dense_ties_are_kept_and_overlap_reported():
    model = tiny_model("bert")
    s, rec = _dense(model, S=1, keep=0.5)
    drive(s, model, fake_batches(2), steps=1)
    for stat in s.statistic.sums.values():
        stat.fill_(1.0)  # every entry tied
    drive(s, model, fake_batches(2), steps=1, first_step=2)
    assert all(bool(m.all()) for m in s.masks.values())
    first = dict(s.masks)
    drive(s, model, fake_batches(2), steps=2, first_step=3)  # step 4: a new selection
    second = rec.of("mask")[1]
    for entry in second["modules"]:
        assert entry["overlap_prev"] == pytest.approx(
            float(s.masks[entry["name"]].sum()) / first[entry["name"]].numel())


def test_dense_gradient_accumulation_is_keyed_by_parameter():
    """Two micro-batches per step plus an extra no-grad forward between steps (the case that
    corrupted the official code's call-order stack): statistics equal Σ (accumulated g)²."""
    model, ref = tiny_model("bert"), tiny_model("bert")
    ref.load_state_dict(model.state_dict())
    s, _ = _dense(model, S=3)
    batches = fake_batches(6, seed=3)
    stats_at_3 = {}

    def spy(point, step):
        if point == "raw":
            with torch.no_grad():
                model(**batches[0])  # an extra forward must not disturb anything
        if point == "clipped" and step == 3:
            stats_at_3.update({k: v.clone() for k, v in s.statistic.sums.items()})

    drive(s, model, batches, steps=3, accum=2, spy=spy, lr=0.0)
    expected = {i.name: torch.zeros_like(i.param) for i in s.infos}
    params = dict(ref.named_parameters())
    for step in range(3):
        ref.zero_grad()
        for b in batches[2 * step:2 * step + 2]:
            (ref(**b).loss / 2).backward()
        for name in expected:
            expected[name] += params[name].grad ** 2
    for name, value in expected.items():
        torch.testing.assert_close(stats_at_3[name], value, rtol=1e-4, atol=1e-10)


def test_dense_non_finite_statistics_are_skipped():
    model = tiny_model("bert")
    s, rec = _dense(model, S=2)

    def spy(point, step):
        if point == "raw" and step == 2:
            s.infos[0].param.grad[0, 0] = float("inf")

    drive(s, model, fake_batches(3), steps=3, spy=spy)
    assert s.statistic.skipped_steps == 1 and rec.of("mask")[0]["skipped_steps"] == 1
    assert all(bool(torch.isfinite(m.float()).all()) for m in s.masks.values())


def test_dense_persists_bit_packed_masks(tmp_path):
    model = tiny_model("bert")
    s, rec = _dense(model, S=1, options={"save_masks": "every"}, run_dir=tmp_path)
    drive(s, model, fake_batches(4), steps=4)
    files = sorted((tmp_path / "masks").glob("step-*.safetensors"))
    assert [f.name for f in files] == ["step-0000002.safetensors", "step-0000004.safetensors"]
    assert rec.of("mask")[1]["file"] == "masks/step-0000004.safetensors"
    loaded = load_masks(tmp_path)  # the run folder: its last selection
    assert loaded.meta["step"] == 4 and loaded.meta["strategy"] == "dps-dense"
    for name, mask in s.masks.items():
        assert torch.equal(loaded.masks[name], mask)
    first = load_masks(files[0])
    overlap = mask_overlap(first, tmp_path)
    assert set(overlap) == set(s.masks)
    assert [overlap[m["name"]] for m in rec.of("mask")[1]["modules"]] == pytest.approx(
        [m["overlap_prev"] for m in rec.of("mask")[1]["modules"]])
    assert mask_overlap(tmp_path, tmp_path) == {name: 1.0 for name in s.masks}
    summary = mask_summary(tmp_path)
    q = next(n for n in summary if n.endswith("query.weight"))
    ffn_in = next(n for n in summary if n.endswith("intermediate.dense.weight"))
    ffn_out = next(n for n in summary if n.endswith("layer.0.output.dense.weight"))
    assert len(summary[q]["per_head"]) == 2 and summary[q]["per_neuron"] is None
    assert len(summary[ffn_in]["per_neuron"]) == 64 and len(summary[ffn_out]["per_neuron"]) == 64
    assert math.isclose(sum(summary[q]["per_head"]) / 2, summary[q]["kept"])
    image = downsample(s.masks[ffn_in], size=16)  # a small mask image for the dashboard
    assert len(image) == 16 and len(image[0]) == 16


def test_dense_leakage_and_drift_telemetry():
    model = tiny_model("bert")
    s, rec = _dense(model, S=2)
    drive(s, model, fake_batches(4), steps=4, lr=1e-2)
    tel = s.on_validation(epoch=0, step=4)
    assert tel["trigger"] == "validation" and tel["stage"] == "II" and set(tel["drift"]) == {"0", "1", "head"}
    assert all(v > 0 for v in tel["drift"].values())
    leak = tel["leakage"]
    assert leak["since_step"] == 3 and 0 < leak["ratio"] and set(leak["by_layer"]) == {"0", "1", "head"}
    drive(s, model, fake_batches(4), steps=1, first_step=5)  # Stage II ended: a stage_end telemetry event
    end = rec.of("telemetry")[0]
    assert end["trigger"] == "stage_end" and end["step"] == 4
    assert end["leakage"]["ratio"] == pytest.approx(leak["ratio"])
    assert make_strategy("vanilla").on_validation(epoch=0, step=1) is None  # vanilla: opt-in
    v = setup(make_strategy("vanilla", {"telemetry": True}), tiny_model("bert"))
    assert set(v.on_validation(epoch=0, step=1)["drift"]) == {"0", "1", "head"}


class _FakeScaler:
    def get_scale(self):
        return 1024.0

    def is_enabled(self):
        return True


class _FakeFp16Accelerator:
    is_main_process = True
    scaler = _FakeScaler()


def test_dense_statistic_divides_out_the_loss_scale():
    """Under fp16 the raw gradients carry the loss scale; the statistic must not."""
    model = tiny_model("bert")
    s = make_strategy("dps-dense", {"stage_steps": 2})
    s.setup(model, steps_per_epoch=4, total_steps=None, accelerator=_FakeFp16Accelerator())
    s.before_step(1)
    model(**fake_batches(1)[0]).loss.backward()
    true = grads_of(s.infos)
    for info in s.infos:
        info.param.grad.mul_(1024.0)  # what GradScaler's scaled backward leaves in .grad
    s.after_backward(1)
    for name, g in true.items():
        torch.testing.assert_close(s.statistic.sums[name], g ** 2, rtol=1e-5, atol=1e-12)
