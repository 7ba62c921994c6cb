"""ChildTuning-D (Fisher once, one global threshold, a fixed mask after clipping) and ChildTuning-F
(Bernoulli mask rescaled by 1/keep: the right expectation) on five tiny architectures."""

from __future__ import annotations

import pytest
import torch
from strategy_tools import ARCHS, Recorder, drive, fake_batches, setup, tiny_model

from adaft_core.strategies import make_strategy
from adaft_core.strategies.masks import kept_count, load_masks


class CountingLoader(list):
    """A list of batches that counts how often it is iterated (the Fisher pass runs once)."""

    passes = 0

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


def _manual_fisher(model, infos, batches):
    params = dict(model.named_parameters())
    fisher = {i.name: torch.zeros_like(i.param) for i in infos}
    for b in batches:
        model.zero_grad()
        model(**b).loss.backward()
        for name in fisher:
            g = params[name].grad
            fisher[name] += (g * min(1.0, 1.0 / (float(g.norm()) + 1e-6))) ** 2 / len(batches)
    model.zero_grad()
    return fisher


@pytest.mark.parametrize("arch", ARCHS)
def test_childtuning_d_fisher_once_global_threshold_fixed_mask(arch, tmp_path):
    model, ref = tiny_model(arch), tiny_model(arch)
    ref.load_state_dict(model.state_dict())
    batches = fake_batches(3, seed=7)
    loader = CountingLoader(batches)
    rec = Recorder()
    s = setup(make_strategy("childtuning-d", {"keep_fraction": 0.3}), model, emit=rec, train_loader=loader,
              run_dir=tmp_path)
    assert loader.passes == 1
    expected = _manual_fisher(ref, s.infos, batches)
    values = torch.cat([f.reshape(-1) for f in expected.values()])
    k = kept_count(values.numel(), 0.3)
    threshold = values.sort(descending=True).values[k - 1]
    for info in s.infos:  # one global threshold over all covered values
        close = (expected[info.name] - threshold).abs() <= 1e-6 * threshold
        agree = s.masks[info.name] == (expected[info.name] >= threshold)
        assert bool((agree | close).all())
    total = sum(int(m.sum()) for m in s.masks.values())
    assert abs(total - k) <= 3  # = k up to float ties
    kept = [float(m.float().mean()) for m in s.masks.values() if m.numel() > 100]
    assert max(kept) - min(kept) > 0.05  # per-matrix fractions vary (no per-matrix quota)
    event = rec.of("mask")[0]
    assert event["step"] == 0 and event["strategy"] == "childtuning-d" and event["fisher_batches"] == 3
    assert {m["kind"] for m in event["modules"]} >= {"q", "k", "v", "o", "ffn_in", "ffn_out", "norm"}
    assert torch.equal(load_masks(tmp_path).masks[s.infos[0].name], s.masks[s.infos[0].name])
    # training: the same mask, applied after clipping, no rescaling; Fisher not recomputed
    fixed = {k2: v.clone() for k2, v in s.masks.items()}
    seen = {}

    def spy(point, step):
        seen[point] = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    drive(s, model, fake_batches(3), steps=3, spy=spy, max_norm=1e-3)
    assert loader.passes == 1 and all(torch.equal(fixed[n], s.masks[n]) for n in fixed)
    # the clip saw the unmasked gradient (mask after clipping); after_backward changed nothing
    assert all(torch.equal(seen["raw"][n], seen["masked"][n]) for n in seen["raw"])
    coef = 1e-3 / (float(torch.sqrt(sum(g.double().pow(2).sum() for g in seen["masked"].values()))) + 1e-6)
    for name, g in seen["clipped"].items():
        mask = s.masks.get(name, torch.ones_like(g, dtype=torch.bool))
        torch.testing.assert_close(g, seen["masked"][name] * coef * mask, rtol=1e-4, atol=1e-12)
    assert len(rec.of("mask")) == 1


def test_childtuning_d_fisher_batches_limit_and_leakage():
    model = tiny_model("bert")
    loader = CountingLoader(fake_batches(5))
    s = setup(make_strategy("childtuning-d", {"fisher_batches": 2}), model, train_loader=loader)
    assert s.fisher_info == {"fisher_batches": 2, "fisher_skipped": 0} and loader.passes == 1
    drive(s, model, fake_batches(2), steps=2, lr=1e-2)
    tel = s.on_validation(epoch=0, step=2)
    assert tel["leakage"]["since_step"] == 1 and tel["leakage"]["ratio"] >= 0
    assert set(s.state_dict()["masks"]) == {i.name for i in s.infos}


@pytest.mark.parametrize("arch", ARCHS)
def test_childtuning_f_expectation_and_rescaling(arch):
    model = tiny_model(arch)
    rec = Recorder()
    s = setup(make_strategy("childtuning-f", {"keep_fraction": 0.4}), model, emit=rec, seed=3)
    model(**fake_batches(1)[0]).loss.backward()
    base = {i.name: i.param.grad.clone() for i in s.infos if i.param.grad is not None}
    assert len(base) == len(s.infos)  # every parameter with a gradient is covered
    total = {n: torch.zeros_like(g) for n, g in base.items()}
    n_draws = 400
    for step in range(1, n_draws + 1):
        for info in s.infos:
            info.param.grad.copy_(base[info.name])
        s.after_clip(step)
        for info in s.infos:
            g = info.param.grad
            scaled = torch.isclose(g, base[info.name] / 0.4) | (base[info.name] == 0)
            assert bool(((g == 0) | scaled).all())  # each entry is 0 or g / keep
            total[info.name] += g
    flat_mean = torch.cat([(total[n] / n_draws).reshape(-1) for n in base])
    flat_base = torch.cat([base[n].reshape(-1) for n in base])
    # E[g ⊙ m / keep] = g: per-entry standard error is |g|·sqrt((1-keep)/(keep·N)) ≈ 0.061|g|
    rel = ((flat_mean - flat_base).norm() / flat_base.norm()).item()
    assert rel < 0.1
    assert [e["step"] for e in rec.of("mask")] == [1]
    assert 0.35 < rec.of("mask")[0]["kept_total"] < 0.45
    s.on_validation(epoch=0, step=n_draws)
    s.after_clip(n_draws + 1)
    assert [e["step"] for e in rec.of("mask")] == [1, n_draws + 1]
    second = rec.of("mask")[1]["modules"]
    big = [m["overlap_prev"] for m in second if m["kept"] > 0 and m["name"].endswith("weight")]
    assert 0.1 < sum(big) / len(big) < 0.4  # independent draws: Jaccard ≈ keep / (2 - keep) = 0.25


def test_childtuning_f_same_seed_same_masks():
    draws = []
    for _ in range(2):
        model = tiny_model("bert")
        s = setup(make_strategy("childtuning-f"), model, seed=11)
        model(**fake_batches(1)[0]).loss.backward()
        s.after_clip(1)
        draws.append({i.name: i.param.grad.clone() for i in s.infos})
    assert all(torch.equal(draws[0][n], draws[1][n]) for n in draws[0])
