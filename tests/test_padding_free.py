"""Padding-free steps (``padding_free.py``) give the padded path's results: losses, gradients,
weights, evaluation; models and tasks that cannot take them fall back with one log line."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tiny import tiny_config

from adaft_core import train
from adaft_core.events.emitter import RecorderSink
from adaft_core.run.padding_free import PackedCollator, packed_collator, repad
from adaft_core.tasks.base import get_task


@pytest.fixture(scope="module")
def no_dropout_model(tiny_model_dir, tmp_path_factory) -> str:
    """The tiny BERT with dropout off: both paths then compute the same function."""
    folder = tmp_path_factory.mktemp("tiny-no-dropout") / "model"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder)


def run(model, data, tmp_path, padding_free, **kw):
    rec = RecorderSink()
    result = train(tiny_config(model, data, tmp_path / str(padding_free), mode="original", max_epochs=2,
                               padding_free=padding_free, **kw), sinks=[rec])
    return rec, result


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


@pytest.mark.parametrize("grad_accum", [1, 2])
def test_training_and_evaluation_equal_the_padded_path(no_dropout_model, conll_dir, tmp_path, caplog, grad_accum):
    with caplog.at_level(logging.WARNING, logger="adaft"):
        packed, packed_result = run(no_dropout_model, conll_dir, tmp_path, True, grad_accum=grad_accum)
    assert "padding-free off" not in caplog.text  # it really ran packed
    padded, padded_result = run(no_dropout_model, conll_dir, tmp_path, False, grad_accum=grad_accum)
    a, b = [e["loss"] for e in packed.of("step")], [e["loss"] for e in padded.of("step")]
    assert len(a) == len(b) == 8 // grad_accum
    assert max(rel(x, y) for x, y in zip(a, b)) < 1e-5
    for x, y in zip(packed.of("eval"), padded.of("eval")):  # validation per epoch, then test
        assert rel(x["loss"], y["loss"]) < 1e-5
        drop_loss = lambda m: {k: v for k, v in m.items() if k != "loss"}  # noqa: E731
        assert drop_loss(x["metrics"]) == drop_loss(y["metrics"])  # the same predictions
    w1 = load_file(str(packed_result.model_dir / "model.safetensors"))
    w2 = load_file(str(padded_result.model_dir / "model.safetensors"))
    assert w1.keys() == w2.keys()
    for name in w1:
        torch.testing.assert_close(w1[name], w2[name], rtol=1e-4, atol=1e-5)
    assert "adaft_per_sentence" not in (packed_result.model_dir / "config.json").read_text()  # saved as a plain model


@pytest.mark.parametrize("task_name", ["ner", "classification"])
def test_gradients_equal_the_padded_path(no_dropout_model, request, tmp_path, task_name):
    """One batch of 12: the same loss and gradients; a sentence-level batch keeps (12,) labels and
    gives one row of logits per sentence."""
    data = request.getfixturevalue("conll_dir" if task_name == "ner" else "pair_dir")
    task = get_task(task_name)(tiny_config(no_dropout_model, data, tmp_path, task=task_name).validated())
    feats = task.features["train"][:12]

    def grads(packed: bool):
        torch.manual_seed(0)
        model = task.load_model().train()
        collator = packed_collator(model, task, task.collator) if packed else task.collator
        assert isinstance(collator, PackedCollator) == packed
        batch = collator(feats)
        out = model(**batch)
        if packed and task_name == "classification":
            assert batch["input_ids"].shape[0] == 1 and batch["labels"].shape == (12,)
            assert out.logits.shape == (12, len(task.labels))
        out.loss.backward()
        return out.loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    (l1, g1), (l2, g2) = grads(True), grads(False)
    assert rel(l1, l2) < 1e-6
    assert g1.keys() == g2.keys()
    for name in g1:
        torch.testing.assert_close(g1[name], g2[name], rtol=1e-4, atol=1e-6)


def test_packed_batch_holds_only_real_tokens(no_dropout_model, conll_dir, tmp_path):
    cfg = tiny_config(no_dropout_model, conll_dir, tmp_path).validated()
    task = get_task("ner")(cfg)
    feats = task.features["train"][:5]
    batch = PackedCollator()(feats)
    lengths = [len(f["input_ids"]) for f in feats]
    assert batch["input_ids"].shape == (1, sum(lengths))
    assert batch["position_ids"][0].tolist() == [i for n in lengths for i in range(n)]
    assert "attention_mask" not in batch
    padded = task.collator(feats)
    assert torch.equal(repad(batch["labels"], batch, fill=-100), padded["labels"])
    assert torch.equal(repad(batch["input_ids"], batch, fill=0), padded["input_ids"])


def test_sentence_pairs_train_and_evaluate_as_the_padded_path(no_dropout_model, pair_dir, tmp_path, caplog):
    """Classification of pairs (one label each): packed through the encoder, the head on the padded
    grid (``regrid_encoder_output``): the same step losses, validation loss, predictions, weights."""
    kw = dict(task="classification")
    with caplog.at_level(logging.WARNING, logger="adaft"):
        packed, packed_result = run(no_dropout_model, pair_dir, tmp_path, True, **kw)
    assert "padding-free off" not in caplog.text  # it really ran packed
    padded, padded_result = run(no_dropout_model, pair_dir, tmp_path, False, **kw)
    a, b = [e["loss"] for e in packed.of("step")], [e["loss"] for e in padded.of("step")]
    assert len(a) == len(b) == 8
    assert max(rel(x, y) for x, y in zip(a, b)) < 1e-5
    for x, y in zip(packed.of("eval"), padded.of("eval")):
        assert rel(x["loss"], y["loss"]) < 1e-5
        assert {k: v for k, v in x["metrics"].items() if k != "loss"} == {k: v for k, v in y["metrics"].items() if k != "loss"}
    w1 = load_file(str(packed_result.model_dir / "model.safetensors"))
    w2 = load_file(str(padded_result.model_dir / "model.safetensors"))
    for name in w1:
        torch.testing.assert_close(w1[name], w2[name], rtol=1e-4, atol=1e-5)


def test_a_sentence_level_run_begun_padded_resumes_padded(no_dropout_model, pair_dir, tmp_path, caplog):
    """``sentences=False`` (a run from a version that trained sentence-level tasks padded): one log line."""
    task = get_task("classification")(tiny_config(no_dropout_model, pair_dir, tmp_path, task="classification").validated())
    model = task.load_model()
    with caplog.at_level(logging.WARNING, logger="adaft"):
        assert packed_collator(model, task, task.collator, sentences=False) is task.collator
    lines = [r.getMessage() for r in caplog.records if "padding-free off" in r.getMessage()]
    assert len(lines) == 1 and "resumed as it began" in lines[0]
    assert not model.base_model.encoder._forward_hooks  # nothing left on the model


def test_a_model_whose_packed_outputs_differ_falls_back(no_dropout_model, conll_dir, tmp_path, caplog, monkeypatch):
    from adaft_core.run import padding_free

    cfg = tiny_config(no_dropout_model, conll_dir, tmp_path).validated()
    task = get_task("ner")(cfg)
    model = task.load_model()
    monkeypatch.setattr(padding_free, "_probe", lambda *a: False)
    with caplog.at_level(logging.WARNING, logger="adaft"):
        assert packed_collator(model, task, task.collator) is task.collator
    assert model.config._attn_implementation != padding_free.ATTENTION  # put back as it was
    assert "packed outputs differ" in caplog.text


def test_with_dropout_the_packed_run_trains(tiny_model_dir, conll_dir, tmp_path):
    """Dropout masks are laid out differently, so only sanity here (quality: bench/README.md)."""
    rec, result = run(tiny_model_dir, conll_dir, tmp_path, True, save_model=False)
    losses = [e["loss"] for e in rec.of("step")]
    assert result.status == "completed" and np.all(np.isfinite(losses))


@pytest.mark.parametrize("task_name", ["ner", "classification"])
@pytest.mark.parametrize("family", ["bert", "roberta", "electra", "distilbert", "deberta-v2"])
def test_encoder_families_take_it_or_say_why(tiny_model_dir, conll_dir, pair_dir, tmp_path, caplog, family, task_name):
    """Built from configs (no download) with MiniLM's tokenizer: packed, or padded with the log line
    (token classification on CoNLL, pair classification on NLI pairs)."""
    import transformers
    from transformers import AutoTokenizer

    kind = {"bert": "Bert", "roberta": "Roberta", "electra": "Electra", "distilbert": "DistilBert",
            "deberta-v2": "DebertaV2"}[family]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    sizes = (dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64) if family == "distilbert" else
             dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64))
    config = getattr(transformers, f"{kind}Config")(vocab_size=tokenizer.vocab_size, max_position_embeddings=512,
                                                     pad_token_id=tokenizer.pad_token_id, **sizes)
    torch.manual_seed(0)
    folder = tmp_path / family
    getattr(transformers, f"{kind}Model")(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    data = conll_dir if task_name == "ner" else pair_dir
    task = get_task(task_name)(tiny_config(str(folder), data, tmp_path, task=task_name).validated())
    with caplog.at_level(logging.WARNING, logger="adaft"):
        collator = packed_collator(task.load_model(), task, task.collator)
    packed = isinstance(collator, PackedCollator)
    print(family, "packed" if packed else caplog.text.strip())
    if family in ("bert", "roberta", "electra"):
        assert packed and "padding-free off" not in caplog.text
        if family == "roberta":
            assert collator.position_start == tokenizer.pad_token_id + 1
    else:
        assert packed or caplog.text.count("padding-free off") == 1
