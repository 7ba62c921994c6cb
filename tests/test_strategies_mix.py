"""DPS-Mix: the forward equals the spec's formula in both stages, backward is gradient ⊙ m, and
evaluation, state_dict and the optimizer see the raw weights (five tiny architectures)."""

from __future__ import annotations

import math

import pytest
import torch
from strategy_tools import ARCHS, Recorder, drive, fake_batches, grads_of, setup, tiny_model

from adaft_core.strategies import make_strategy
from adaft_core.strategies.masks import kept_count
from adaft_core.strategies.mix import _MixFn, mixed_weight


def _mix(model, S=2, keep=0.7):
    rec = Recorder()
    return setup(make_strategy("dps-mix", {"stage_steps": S, "keep_fraction": keep}), model, emit=rec, seed=5), rec


def _module(model, name):
    return model.get_submodule(name.rpartition(".")[0])


def test_mix_function_forward_and_backward():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(4, 6, generator=g, requires_grad=True)
    anchor = torch.randn(4, 6, generator=g)
    col = (torch.rand(1, 6, generator=g) < 0.7).float()
    out = _MixFn.apply(w, anchor, col, 0.7)
    torch.testing.assert_close(out, mixed_weight(w.detach(), anchor, col, 0.7))
    torch.testing.assert_close(out[:, col[0] == 0], anchor[:, col[0] == 0])  # dropped columns see W⁰
    kept = col[0] == 1
    torch.testing.assert_close(out[:, kept], anchor[:, kept] + (w.detach() - anchor)[:, kept] / 0.7)
    r = torch.randn(4, 6, generator=g)
    (out * r).sum().backward()
    torch.testing.assert_close(w.grad, r * col)  # gradient ⊙ m, no 1/(1 - p) factor


@pytest.mark.parametrize("arch", ARCHS)
def test_mix_forward_matches_formula_in_both_stages_and_eval_is_raw(arch):
    model = tiny_model(arch)
    keys = set(model.state_dict())
    order = list(model.state_dict())
    s, rec = _mix(model, S=2, keep=0.7)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    initial = {i.name: i.param.detach().clone() for i in s.infos}
    # Stage I (step 1): W⁰ anchor, one column mask per matrix
    s.before_step(1)
    for info in s.infos:
        col = s.mixout.columns[info.name]
        expected = mixed_weight(info.param.detach(), initial[info.name], col[None, :], 0.7)
        torch.testing.assert_close(s.mixout.effective_weight(info.name), expected)
    batch = fake_batches(1)[0]
    reference = tiny_model(arch)  # a plain model whose weights are the mixed ones gives the same loss
    with torch.no_grad():
        mixed = {i.name: s.mixout.effective_weight(i.name).detach().clone() for i in s.infos}
        ref_params = dict(reference.named_parameters())
        for name, p in model.named_parameters():
            ref_params[name].copy_(mixed.get(name, p))
    loss = model(**batch).loss
    torch.testing.assert_close(loss, reference(**batch).loss)
    loss.backward()
    for info in s.infos:  # dropped columns get no gradient
        dropped = s.mixout.columns[info.name] == 0
        assert bool((info.param.grad[:, dropped] == 0).all())
    s.after_backward(1)
    opt.step()
    opt.zero_grad()
    drive(s, model, fake_batches(2), steps=1, first_step=2, optimizer=opt)
    # Stage II (step 3): anchor T = weights at the stage start, the selected mask M
    s.before_step(3)
    start = {i.name: i.param.detach().clone() for i in s.infos}
    for info in s.infos:
        mask = s.masks[info.name]
        assert int(mask.sum()) == kept_count(mask.numel(), 0.7)
        torch.testing.assert_close(s.mixout.effective_weight(info.name),
                                   mixed_weight(info.param.detach(), start[info.name], mask, 0.7))
    model(**batch).loss.backward()
    s.after_backward(3)
    for info in s.infos:
        assert bool((info.param.grad[~s.masks[info.name]] == 0).all())
    opt.step()
    opt.zero_grad()
    s.before_step(4)  # W moved; T did not: the forward still follows the formula around T
    for info in s.infos:
        assert not torch.equal(info.param.detach(), start[info.name])
        torch.testing.assert_close(s.mixout.effective_weight(info.name),
                                   mixed_weight(info.param.detach(), start[info.name], s.masks[info.name], 0.7))
    loss = model(**batch).loss  # the installed forward uses those weights
    with torch.no_grad():
        for info in s.infos:
            ref_params[info.name].copy_(s.mixout.effective_weight(info.name))
        for name, p in model.named_parameters():
            if name not in mixed:
                ref_params[name].copy_(p)
    torch.testing.assert_close(loss, reference(**batch).loss)
    # evaluation: raw weights under their own names, the same Parameter objects
    s.eval_start()
    assert set(model.state_dict()) == keys
    named = dict(model.named_parameters())
    for info in s.infos:
        assert named[info.name] is info.param and _module(model, info.name).weight is info.param
    assert all(p is q for p, q in zip(opt.param_groups[0]["params"], model.parameters()))  # same order too
    assert list(model.state_dict()) == order
    assert not s.mixout.installed and all("weight" not in vars(_module(model, i.name)) for i in s.infos)
    s.eval_end()
    s.before_step(4)  # installed again for training; names, order and Parameters never change
    assert s.mixout.installed and list(model.state_dict()) == order
    assert all(p is q for p, q in zip(opt.param_groups[0]["params"], model.parameters()))
    s.remove()


@pytest.mark.parametrize("arch", ARCHS)
def test_mix_statistics_counts_and_scores(arch):
    model = tiny_model(arch)
    s, rec = _mix(model, S=3)
    raw, cols = {}, {}

    def spy(point, step):
        if point == "raw":
            raw[step] = grads_of(s.infos)
            cols[step] = {k: v.clone() for k, v in s.mixout.columns.items()}

    drive(s, model, fake_batches(4), steps=3, spy=spy)
    statistic = s.statistic
    for info in s.infos:
        count = sum(cols[t][info.name] for t in (1, 2, 3))
        torch.testing.assert_close(statistic.counts[info.name], count)
        stat = sum(raw[t][info.name] ** 2 * cols[t][info.name][None, :] for t in (1, 2, 3))
        torch.testing.assert_close(statistic.sums[info.name], stat, rtol=1e-5, atol=1e-12)
        torch.testing.assert_close(statistic.score(info.name), stat / count.clamp(min=1)[None, :])
    statistic.stage_steps = 50  # the frequency penalty applies from S = 50 on
    name = s.infos[0].name
    c = statistic.counts[name]
    torch.testing.assert_close(statistic.score(name),
                               statistic.sums[name] / c.clamp(min=1)[None, :] * torch.exp(-c / 50)[None, :])
    statistic.stage_steps = 3
    drive(s, model, fake_batches(4), steps=1, first_step=4)  # selection at step 4
    assert rec.of("mask")[0]["step"] == 4 and rec.of("mask")[0]["strategy"] == "dps-mix"
    s.remove()


def test_mix_column_masks_are_fresh_per_step_and_seeded():
    a, b = tiny_model("bert"), tiny_model("bert")
    sa, _ = _mix(a)
    sb, _ = _mix(b)
    sa.before_step(1)
    sb.before_step(1)
    first = {k: v.clone() for k, v in sa.mixout.columns.items()}
    assert all(torch.equal(first[k], sb.mixout.columns[k]) for k in first)  # same seed: same draw on every rank
    sa.before_step(2)
    assert any(not torch.equal(first[k], sa.mixout.columns[k]) for k in first)
    frac = torch.cat(list(sa.mixout.columns.values())).mean().item()
    assert math.isclose(frac, 0.7, abs_tol=0.1)
    sa.remove()
    sb.remove()
