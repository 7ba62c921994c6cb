"""ChildTuning-D and ChildTuning-F (``docs/dps.md`` §9–10; Xu et al., EMNLP 2021).

``childtuning-d`` options: ``keep_fraction`` (default 0.3: the top 30 % of Fisher values are
updated; the paper's ``reserve_p``), ``fisher_batches`` (default: the whole training set; a
positive integer limits the Fisher pass to that many batches), ``save_masks`` (``latest``/
``every``/``none``), ``telemetry`` (default True).

- Before training (``on_train_start``): one pass over the (shuffled) training loader without
  optimizer steps, dropout on; per parameter each gradient is clipped to norm 1 and
  F += g² / N_batches (empirical Fisher). Batches with a non-finite gradient are skipped and N
  counts the batches used. The pass draws one shuffle from the training loader's generator, so
  epoch 0 trains on the next permutation (deterministic for a seed). Under data parallelism DDP
  all-reduces each batch's gradient, so every rank computes the same F and the same mask.
- One global threshold over every covered value (``masks.global_threshold``: bisection on the
  float bits, no concatenation): keep the top ⌈keep_fraction · N⌉ (ties kept). The mask is fixed
  for the run; a single ``mask`` event with ``step`` 0 reports the per-parameter kept fractions.
- Every step: gradient ⊙ mask after global-norm clipping, no rescaling.
- Covered: every parameter inside the transformer blocks (weights, biases, LayerNorm).

``childtuning-f`` options: ``keep_fraction`` (default 0.3), ``save_masks`` (default ``none``: a
fresh mask every step), ``telemetry`` (default True).

- Every step, after clipping, for every parameter with a gradient: gradient ⊙ Bernoulli(keep) /
  keep, element-wise. Random numbers come from a generator on the parameters' device seeded from
  the run seed, identical on every rank, drawn in one flat buffer per ≤ 16 M entries (few kernels)
  as ``uniform < keep`` (exactly Bernoulli; ``bernoulli_`` is ~4x slower on the CPU).
- A ``mask`` event reports the draw of step 1 and of the first step after every validation.
  Those steps draw every entry (the reported mask is complete), the others only the embedding
  rows with a gradient. Which path a step takes depends on the validations alone, never on
  whether this rank reports: every rank draws the same numbers and the model copies stay equal
  under data parallelism (``tests/test_strategies_distributed.py``).

State (``state_dict``): ChildTuning-D's mask and Fisher-pass counts (after a load the Fisher pass
and the step-0 ``mask`` event are not repeated); ChildTuning-F's generator states (one per device
type) and whether the next step is reported; for both the reporter's counters and previous mask.
"""

from __future__ import annotations

import torch

from adaft_core.strategies.base import UpdateStrategy, loss_scale, seeded_generator
from adaft_core.strategies.masks import global_threshold, kept_count, mask_gradients
from adaft_core.strategies.scope import all_params_scope, childtuning_d_scope, num_heads
from adaft_core.strategies.telemetry import MaskReporter, leakage

_CHUNK = 1 << 24


class ChildTuningD(UpdateStrategy):
    name = "childtuning-d"

    def __init__(self, **options):
        super().__init__(**options)
        o = self.options
        self.keep_fraction, self.fisher_batches = o["keep_fraction"], o["fisher_batches"]
        self.save_masks = o["save_masks"]
        self.masks: dict[str, torch.Tensor] = {}
        self.fisher_info: dict = {}

    def setup(self, model, **kw) -> None:
        super().setup(model, **kw)
        self.infos = childtuning_d_scope(model)
        self.reporter = MaskReporter(self.name, self.keep_fraction, self.infos, num_heads(model), self.save_masks)
        self.reporter.enabled, self.reporter.emit = self.is_main, self.emit

    def on_train_start(self, run_dir=None) -> None:
        super().on_train_start(run_dir)
        self.reporter.run_dir = run_dir
        if not self.masks:
            self.compute_mask(self.train_loader)

    def fisher(self, loader) -> dict[str, torch.Tensor]:
        """Empirical Fisher F = mean over batches of (per-parameter clipped g)²."""
        if loader is None:
            raise RuntimeError("childtuning-d needs the training loader (setup(train_loader=...)) for its Fisher pass")
        model, acc = self.model, self.accelerator
        was_training = model.training
        model.train()
        model.zero_grad(set_to_none=True)
        fisher = {i.name: torch.zeros_like(i.param, dtype=torch.float32) for i in self.infos}
        used = skipped = 0
        for index, batch in enumerate(loader):
            if self.fisher_batches is not None and index >= self.fisher_batches:
                continue  # drain the loader so a prepared loader ends its epoch cleanly
            loss = model(**batch).loss
            acc.backward(loss) if acc is not None else loss.backward()
            infos = [i for i in self.infos if i.param.grad is not None]
            grads = [i.param.grad.float() for i in infos]
            scale = loss_scale(acc)
            norms = torch.stack(torch._foreach_norm(grads)) / scale if grads else torch.zeros(0)
            if grads and bool(norms.isfinite().all()):
                coef = (1.0 / (norms + 1e-6)).clamp(max=1.0) / scale  # clip each to norm 1, unscale
                for g, c in zip(grads, coef.unbind()):
                    g.mul_(c)  # the gradient is discarded below
                torch._foreach_addcmul_([fisher[i.name] for i in infos], grads, grads)
                used += 1
            else:
                skipped += 1
            model.zero_grad(set_to_none=True)
        if used == 0:
            raise RuntimeError("childtuning-d: the Fisher pass saw no batch with finite gradients")
        for f in fisher.values():
            f.div_(used)
        model.train(was_training)
        self.fisher_info = {"fisher_batches": used, "fisher_skipped": skipped}
        return fisher

    def compute_mask(self, loader) -> None:
        """Fisher pass, one global threshold, the fixed mask and its ``mask`` event (step 0)."""
        fisher = self.fisher(loader)
        with torch.no_grad():
            total = sum(f.numel() for f in fisher.values())
            threshold = global_threshold(list(fisher.values()), kept_count(total, self.keep_fraction))
            self.masks = {name: f >= threshold for name, f in fisher.items()}
        self.reporter.report(0, None, self.masks, threshold=threshold, **self.fisher_info)

    def after_clip(self, step: int) -> None:
        mask_gradients(self.infos, self.masks)

    def leakage(self, step: int) -> dict | None:
        """Since the start (the mask is fixed): update of unselected vs selected weight entries."""
        if self._drift is None or step < 1 or not self.masks:
            return None
        return leakage(((i, self._drift.initial_on(i), self.masks[i.name]) for i in self.infos
                        if i.name in self._drift.initial), since_step=1)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "masks": dict(self.masks), "fisher_info": dict(self.fisher_info),
                "reporter": self.reporter.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        params = {i.name: i.param for i in self.infos}
        if set(state["masks"]) != set(params):
            raise ValueError("the saved childtuning-d mask does not cover this model's transformer blocks")
        self.masks = {name: m.to(params[name].device, torch.bool) for name, m in state["masks"].items()}
        self.fisher_info = dict(state["fisher_info"])
        self.reporter.load_state_dict(state["reporter"])


class ChildTuningF(UpdateStrategy):
    name = "childtuning-f"

    def __init__(self, **options):
        super().__init__(**options)
        self.keep_fraction, self.save_masks = self.options["keep_fraction"], self.options["save_masks"]
        self.report_next = True

    def setup(self, model, **kw) -> None:
        super().setup(model, **kw)
        self.infos = all_params_scope(model)
        self.reporter = MaskReporter(self.name, self.keep_fraction, self.infos, num_heads(model), self.save_masks)
        self.reporter.enabled, self.reporter.emit = self.is_main, self.emit
        self.generators: dict = {}
        # Embedding gradients are zero outside the rows of the batch's tokens; masking a zero row
        # changes nothing, so only the rows with a gradient need random draws (same distribution,
        # about half of MiniLM's draws saved: its word embeddings are 11.7 M of 22.7 M entries).
        self.row_sparse = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}

    def on_train_start(self, run_dir=None) -> None:
        super().on_train_start(run_dir)
        self.reporter.run_dir = run_dir

    def _mask_rows_with_gradient(self, g: torch.Tensor) -> None:
        """``g ⊙ Bernoulli(keep)/keep`` drawing only for the rows of ``g`` that are not all zero."""
        rows = g.ne(0).any(dim=1).nonzero().squeeze(1)
        sub = g.index_select(0, rows)
        keep = torch.empty_like(sub).uniform_(generator=self._generator(g.device)).lt_(self.keep_fraction)
        g.index_copy_(0, rows, sub.mul_(keep).mul_(1.0 / self.keep_fraction))

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self.generators:
            self.generators[key] = seeded_generator(device, self.seed, salt=29)
        return self.generators[key]

    @torch.no_grad()
    def after_clip(self, step: int) -> None:
        report = self.report_next  # the same on every rank: the draws must not depend on who reports
        keep_drawn = report and self.reporter.enabled
        drawn: dict[str, torch.Tensor] = {}
        groups: dict[tuple, list] = {}
        for info in self.infos:
            g = info.param.grad
            if g is None:
                continue
            if not report and id(info.param) in self.row_sparse and g.dim() == 2:
                self._mask_rows_with_gradient(g)
            else:
                groups.setdefault((g.device, g.dtype), []).append((info.name, g))
        for (device, dtype), items in groups.items():
            start = 0
            while start < len(items):  # chunks of at most _CHUNK entries (one at least)
                chunk, n = [], 0
                while start < len(items) and (not chunk or n + items[start][1].numel() <= _CHUNK):
                    chunk.append(items[start])
                    n += items[start][1].numel()
                    start += 1
                # Bernoulli(keep) as uniform < keep: exact, and ~4x faster than bernoulli_ on the CPU
                buf = torch.empty(n, device=device, dtype=dtype).uniform_(generator=self._generator(device))
                buf.lt_(self.keep_fraction)
                views = [v.view_as(g) for v, (_, g) in zip(buf.split([g.numel() for _, g in chunk]), chunk)]
                if keep_drawn:
                    drawn.update({name: v.bool() for v, (name, _) in zip(views, chunk)})
                buf.mul_(1.0 / self.keep_fraction)
                torch._foreach_mul_([g for _, g in chunk], views)
        if report and groups:
            self.reporter.report(step, None, drawn)  # counts the selection on every rank; rank 0 emits
        self.report_next = False

    def on_validation(self, *, epoch: int, step: int) -> dict | None:
        self.report_next = True
        return super().on_validation(epoch=epoch, step=step)

    def state_dict(self) -> dict:
        generators = {torch.device(key).type: g.get_state() for key, g in self.generators.items()}
        return {**super().state_dict(), "generators": generators, "report_next": self.report_next,
                "reporter": self.reporter.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.report_next = bool(state["report_next"])
        self.reporter.load_state_dict(state["reporter"])
        for device in {i.param.device for i in self.infos}:  # rank 1's cuda:1 continues rank 0's cuda:0
            saved = state["generators"].get(device.type)
            if saved is not None:
                self._generator(device).set_state(saved.to("cpu", torch.uint8))
