"""Helpers for the strategy tests: tiny encoders of five architectures built from configs (no
download), fake token-classification batches, and a driver that runs a strategy's hooks in the
engine's order (forward/backward per micro-batch, after_backward, clip, after_clip, AdamW step)."""

from __future__ import annotations

import torch

ARCHS = ("bert", "roberta", "distilbert", "electra", "mpnet")
VOCAB, LABELS = 100, 3


def tiny_config(arch: str):
    import transformers as T

    common = dict(vocab_size=VOCAB, num_labels=LABELS)
    if arch == "distilbert":
        return T.DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64, dropout=0.0,
                                  attention_dropout=0.0, max_position_embeddings=64, **common)
    cls = {"bert": T.BertConfig, "roberta": T.RobertaConfig, "electra": T.ElectraConfig, "mpnet": T.MPNetConfig}[arch]
    extra = {"embedding_size": 16} if arch == "electra" else {}
    return cls(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=64,
               **extra, **common)


def tiny_model(arch: str = "bert", sequence: bool = False, seed: int = 0):
    """A 2-layer, 32-wide, 2-head encoder with a token (or sequence) classification head."""
    import transformers as T

    torch.manual_seed(seed)
    cls = T.AutoModelForSequenceClassification if sequence else T.AutoModelForTokenClassification
    model = cls.from_config(tiny_config(arch))
    model.train()
    return model


def fake_batches(n: int, seed: int = 0, batch: int = 4, seq: int = 8, sequence: bool = False) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ids = torch.randint(5, VOCAB, (batch, seq), generator=g)
        labels = torch.randint(0, LABELS, (batch,) if sequence else (batch, seq), generator=g)
        out.append({"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels})
    return out


class Recorder:
    """An ``emit`` callable that keeps (name, fields)."""

    def __init__(self):
        self.events: list[tuple[str, dict]] = []

    def __call__(self, name, **fields):
        self.events.append((name, fields))

    def of(self, name):
        return [f for n, f in self.events if n == name]


def setup(strategy, model, *, total_steps=None, steps_per_epoch=10, emit=None, train_loader=None, seed=0,
          run_dir=None):
    strategy.setup(model, steps_per_epoch=steps_per_epoch, total_steps=total_steps, emit=emit,
                   train_loader=train_loader, seed=seed)
    strategy.on_train_start(run_dir=run_dir)
    return strategy


def drive(strategy, model, batches, *, steps, accum=1, max_norm=1.0, lr=1e-3, optimizer=None, first_step=1,
          spy=None):
    """Run ``steps`` optimizer steps the way the engine does. ``spy(point, step)`` is called at
    "raw" (after backward, before the hook), "masked" (after after_backward, before clipping) and
    "clipped" (after after_clip, before the optimizer step). Returns the optimizer."""
    opt = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    it = iter(batches * (1 + (steps * accum) // max(1, len(batches))))
    for step in range(first_step, first_step + steps):
        strategy.before_step(step)
        for _ in range(accum):
            (model(**next(it)).loss / accum).backward()
        if spy:
            spy("raw", step)
        strategy.after_backward(step)
        if spy:
            spy("masked", step)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        strategy.after_clip(step)
        if spy:
            spy("clipped", step)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return opt


def grads_of(infos) -> dict[str, torch.Tensor]:
    return {i.name: i.param.grad.detach().clone() for i in infos if i.param.grad is not None}
