"""Named entity recognition as token classification: encode, batch, decode, score.

Kept instead of ``DataCollatorForTokenClassification``: :func:`collate` gives the same tensors (tested), ~10x faster.

The evaluation protocol (``docs/adaptive.md`` §9) fixes the rules: the *first* sub-token of each
word carries its label and every other position gets ``-100`` (ignored by loss and metrics, so
scores are per word, not per word piece); a sentence longer than ``max_seq_length`` is split at
word boundaries, never truncated, so no entity is lost; the headline metric is seqeval's
entity-level micro F1, strict mode, scheme IOB2.

All functions are pure. They run on every evaluation, so per-token work is numpy (masking,
indexing); Python loops run per sentence, chunk or batch only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import torch
from seqeval.metrics import f1_score as _seqeval_f1
from seqeval.metrics.v1 import precision_recall_fscore_support as _strict_prfs
from seqeval.scheme import BILOU, IOB2, IOBES, IOE2, Entities

from adaft_core.data.types import Sentence
from adaft_core.errors import ConfigError, DataError, choices_message

IGNORE_INDEX = -100
"""Label of positions that carry no word label (PyTorch's ``CrossEntropyLoss`` default)."""

HEADLINE_METRIC = "f1"
"""Key of :func:`ner_metrics` that the engine reports as the task's ``score``."""

SCHEMES = {"IOB2": IOB2, "IOE2": IOE2, "IOBES": IOBES, "BILOU": BILOU}
"""Tagging schemes seqeval's strict mode understands (IOB1 is converted to IOB2 by the readers)."""


# --- encoding ----------------------------------------------------------------------------------

def encode_sentences(sentences: Sequence[Sentence], tokenizer, label2id: Mapping[str, int],
                     max_seq_length: int = 128) -> list[dict]:
    """Turn sentences into model features, one dict per chunk of at most ``max_seq_length``.

    Each dict has ``input_ids``, ``attention_mask``, ``labels`` (lists of int), and
    ``sentence_index`` (into ``sentences``), ``chunk_index`` (0, 1, … within the sentence) and
    ``n_words`` (words in this chunk). Chunks of one sentence are consecutive and in order, which
    :func:`merge_chunks` relies on.

    The tokenizer runs once over all sentences (a fast tokenizer batches in Rust) without special
    tokens; the model's special tokens are then wrapped around each chunk, so chunking can be
    decided on word boundaries. Two edge cases keep the "every word is scored" promise:

    * a word for which the tokenizer yields *no* sub-token (a lone control character, a
      whitespace or zero-width token) gets the unknown token, so it still has a label position
      and still counts in the metrics (the model then sees ``[UNK]`` there);
    * a single word with more sub-tokens than fit in one chunk is cut to its first
      ``max_seq_length - n_special`` sub-tokens in a chunk of its own; its first sub-token — the
      one that carries the label — always survives.

    An empty sentence yields one chunk holding only the special tokens and ``n_words == 0``, so
    sentence indices stay aligned. An empty word (``""``, see :mod:`adaft_core.data.conll`) is
    such a word too. Byte-level BPE tokenizers (RoBERTa, GPT-2) must be loaded with
    ``add_prefix_space=True`` (``models.load_tokenizer(..., pretokenized=True)`` does it).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"NER needs a fast tokenizer (word-to-sub-token alignment), got "
            f"{type(tokenizer).__name__}; load it with AutoTokenizer.from_pretrained(..., "
            f"use_fast=True) or use a model that ships a tokenizer.json")
    prefix, suffix = _special_tokens(tokenizer)
    budget = max_seq_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ConfigError(f"max_seq_length {max_seq_length} leaves no room for words next to "
                          f"the {len(prefix) + len(suffix)} special tokens; use at least "
                          f"{len(prefix) + len(suffix) + 1} (default 128)")
    if not sentences:
        return []
    word_labels = _word_label_ids(sentences, label2id)
    enc = tokenizer([list(s.tokens) for s in sentences], is_split_into_words=True,
                    add_special_tokens=False, return_attention_mask=False,
                    return_token_type_ids=False, verbose=False)
    unk = _fallback_token_id(tokenizer)
    pre_labels, suf_labels = [IGNORE_INDEX] * len(prefix), [IGNORE_INDEX] * len(suffix)

    features = []
    for index, labels_of_words in enumerate(word_labels):
        n = len(labels_of_words)
        ids = np.asarray(enc["input_ids"][index], dtype=np.int64)
        words = np.asarray(enc.word_ids(index), dtype=np.int64)
        counts = np.bincount(words, minlength=n)
        if n and not counts.all():
            ids, words, counts = _fill_empty_words(ids, words, counts, unk)
        labels = np.full(len(ids), IGNORE_INDEX, dtype=np.int64)
        first = np.ones(len(words), dtype=bool)
        first[1:] = words[1:] != words[:-1]
        labels[first] = labels_of_words  # one first sub-token per word, words in order
        ends = np.cumsum(counts)
        for chunk_index, (w0, w1, t0, t1) in enumerate(_chunks(ends, budget)):
            input_ids = prefix + ids[t0:t1].tolist() + suffix
            features.append({
                "input_ids": input_ids,
                "attention_mask": [1] * len(input_ids),
                "labels": pre_labels + labels[t0:t1].tolist() + suf_labels,
                "sentence_index": index,
                "chunk_index": chunk_index,
                "n_words": w1 - w0,
            })
    return features


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after a single sequence ([CLS] / [SEP]).

    Read off a one-word probe so that any template (BERT, RoBERTa, XLM-R, none) is honoured.
    """
    probe = tokenizer([["a"]], is_split_into_words=True, add_special_tokens=True)
    ids, words = probe["input_ids"][0], probe.word_ids(0)
    inside = [i for i, w in enumerate(words) if w is not None]
    return ids[:inside[0]], ids[inside[-1] + 1:]


def _fallback_token_id(tokenizer) -> int:
    """Id for words without sub-tokens: unk, else pad, else 0 (byte-level BPEs never need it)."""
    for token_id in (tokenizer.unk_token_id, tokenizer.pad_token_id):
        if token_id is not None:
            return int(token_id)
    return 0


def _word_label_ids(sentences: Sequence[Sentence], label2id: Mapping[str, int]) -> list[np.ndarray]:
    """Label ids per sentence; one flat dict lookup, then a numpy split (errors name file:line)."""
    lengths = np.fromiter((len(s.tokens) for s in sentences), dtype=np.int64, count=len(sentences))
    for s, n in zip(sentences, lengths):
        if len(s.tags) != n:
            raise DataError(f"{s.source or '<data>'}:{s.line}: sentence has {n} tokens but "
                            f"{len(s.tags)} tags; every token needs exactly one tag")
    try:
        flat = np.fromiter((label2id[t] for s in sentences for t in s.tags), dtype=np.int64,
                           count=int(lengths.sum()))
    except KeyError as missing:
        tag = missing.args[0]
        s = next(s for s in sentences if tag in s.tags)
        raise DataError(f"{s.source or '<data>'}:{s.line}: {choices_message('tag', tag, label2id)}"
                        f"; add it to the label list or fix the tag") from None
    return np.split(flat, np.cumsum(lengths)[:-1])


def _fill_empty_words(ids, words, counts, unk: int):
    """Give every word without sub-tokens one ``unk`` sub-token, keeping all others in place.

    Vectorised: each old token moves to ``new_start[word] + offset_in_word``; gaps stay ``unk``.
    """
    new_counts = np.maximum(counts, 1)
    old_starts = np.cumsum(counts) - counts
    new_starts = np.cumsum(new_counts) - new_counts
    new_ids = np.full(int(new_counts.sum()), unk, dtype=np.int64)
    new_ids[new_starts[words] + np.arange(len(words)) - old_starts[words]] = ids
    return new_ids, np.repeat(np.arange(len(counts)), new_counts), new_counts


def _chunks(ends: np.ndarray, budget: int):
    """Greedy word-boundary chunks ``(first_word, end_word, first_token, end_token)``.

    ``ends[w]`` is the sub-token end offset of word ``w``. Each step packs as many whole words as
    fit in ``budget`` (one ``searchsorted`` per chunk, not per word); a word longer than the
    budget alone gets a chunk cut to its first ``budget`` sub-tokens.
    """
    n = len(ends)
    if n == 0 or ends[-1] <= budget:
        yield 0, n, 0, int(ends[-1]) if n else 0
        return
    w0 = 0
    while w0 < n:
        t0 = int(ends[w0 - 1]) if w0 else 0
        w1 = int(np.searchsorted(ends, t0 + budget, side="right"))
        if w1 == w0:  # one word longer than a whole chunk: keep its first sub-tokens
            yield w0, w0 + 1, t0, t0 + budget
            w1 = w0 + 1
        else:
            yield w0, w1, t0, int(ends[w1 - 1])
        w0 = w1


# --- batching ----------------------------------------------------------------------------------

def collate(features: Sequence[dict], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest feature with pad id / 0 / -100 (ids / attention mask / labels).

    Dynamic padding keeps short-sentence batches cheap. No ``token_type_ids``: BERT-style models
    default them to zeros and others do not accept them. Other feature keys (sentence_index, …)
    are left out so that ``model(**batch)`` works; :func:`merge_chunks` reads them from the
    feature list instead.
    """
    lengths = np.fromiter((len(f["input_ids"]) for f in features), dtype=np.int64,
                          count=len(features))
    width = int(lengths.max()) if len(lengths) else 0
    filled = np.arange(width)[None, :] < lengths[:, None]
    total = int(lengths.sum())

    def padded(key: str, value: int) -> torch.Tensor:
        out = np.full((len(features), width), value, dtype=np.int64)
        out[filled] = np.fromiter(chain.from_iterable(f[key] for f in features),
                                  dtype=np.int64, count=total)
        return torch.from_numpy(out)

    return {"input_ids": padded("input_ids", pad_token_id),
            "attention_mask": padded("attention_mask", 0),
            "labels": padded("labels", IGNORE_INDEX)}


@dataclass(frozen=True)
class NerCollator:
    """``collate_fn`` for a DataLoader; a module-level class so worker processes can pickle it."""

    pad_token_id: int

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        return collate(features, self.pad_token_id)


# --- decoding ----------------------------------------------------------------------------------

def decode_predictions(pred_ids, label_ids, id2label) -> tuple[list[list[str]], list[list[str]]]:
    """Label strings at the labelled positions of each row: ``(true_tags, pred_tags)``.

    ``pred_ids`` (argmax) and ``label_ids`` are (batch, seq) int arrays or tensors of one batch;
    call once per batch and extend, since batches are padded to different widths. ``id2label``
    is a mapping id → label (a model config's ``id2label``) or a list of labels.
    """
    preds, labels = _as_numpy(pred_ids), _as_numpy(label_ids)
    if preds.shape != labels.shape or preds.ndim != 2:
        raise ValueError(f"predictions {preds.shape} and labels {labels.shape} must be the same "
                         f"(batch, seq) shape")
    items = id2label.items() if isinstance(id2label, Mapping) else enumerate(id2label)
    pairs = [(int(i), str(name)) for i, name in items]
    names = np.empty(max(i for i, _ in pairs) + 1, dtype=object)
    for i, name in pairs:
        names[i] = name
    if len(labels) == 0:
        return [], []
    keep = labels != IGNORE_INDEX
    splits = np.cumsum(keep.sum(axis=1))[:-1]
    true_rows = np.split(names[labels[keep]], splits)
    pred_rows = np.split(names[preds[keep]], splits)
    return [r.tolist() for r in true_rows], [r.tolist() for r in pred_rows]


def _as_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def merge_chunks(rows_tags: Sequence[Sequence[str]], features: Sequence[dict]) -> list[list[str]]:
    """Glue the chunk rows of each sentence back together: one tag list per sentence.

    ``rows_tags[i]`` belongs to ``features[i]`` (the order :func:`encode_sentences` produced, so
    never shuffle an evaluation loader). Sentences come out in feature order; per-sentence lists
    make seqeval see an entity that a chunk boundary split as one entity, as in the source data.
    """
    if len(rows_tags) != len(features):
        raise ValueError(f"{len(rows_tags)} rows of tags for {len(features)} features")
    merged: list[list[str]] = []
    previous, expected_chunk = None, 0
    for tags, feature in zip(rows_tags, features):
        if len(tags) != feature["n_words"]:
            raise ValueError(f"sentence {feature['sentence_index']} chunk "
                             f"{feature['chunk_index']}: {len(tags)} tags for "
                             f"{feature['n_words']} words")
        if feature["sentence_index"] == previous and feature["chunk_index"] == expected_chunk:
            merged[-1].extend(tags)
        elif feature["chunk_index"] == 0:
            merged.append(list(tags))
        else:
            raise ValueError(f"chunk {feature['chunk_index']} of sentence "
                             f"{feature['sentence_index']} is out of order; keep features in "
                             f"the order encode_sentences returned them")
        previous, expected_chunk = feature["sentence_index"], feature["chunk_index"] + 1
    return merged


# --- metrics -----------------------------------------------------------------------------------

def ner_metrics(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]],
                scheme: str = "IOB2") -> dict:
    """Entity-level scores from seqeval, as plain Python numbers.

    ``f1``/``precision``/``recall``: micro averages in strict mode with ``scheme`` (an entity
    counts only if its boundaries and type are exactly right *and* it is well-formed, e.g. starts
    with ``B-`` in IOB2). ``per_type``: the same per entity type. ``f1_default``: seqeval's
    default, conlleval-style mode, which also accepts an entity opening with ``I-``; reported
    because most papers quote it. ``support``: number of gold entities. ``zero_division=0``
    makes an all-``O`` prediction score 0.0 without seqeval's UndefinedMetricWarning (silenced at
    the source, so no global warning filter is touched from a training thread).
    """
    if scheme.upper() not in SCHEMES:
        raise ConfigError(choices_message("tagging scheme", scheme, SCHEMES))
    token = SCHEMES[scheme.upper()]
    y_true, y_pred = [list(t) for t in true_tags], [list(p) for p in pred_tags]
    if [len(t) for t in y_true] != [len(p) for p in y_pred]:
        raise ValueError("true and predicted tags must have the same number of sentences and "
                         "the same length per sentence")
    if not y_true:  # seqeval refuses empty input
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0, "f1_default": 0.0, "support": 0,
                "per_type": {}}
    try:
        ents_true, ents_pred = Entities(y_true, token), Entities(y_pred, token)
    except (ValueError, KeyError) as err:  # KeyError: a tag without a known prefix ("PER")
        raise ConfigError(f"tags do not fit the {scheme.upper()} scheme ({err!r}); convert "
                          f"the data to it or pick the data's scheme") from None
    common = dict(scheme=token, zero_division=0, entities_true=ents_true, entities_pred=ents_pred)
    precision, recall, f1, _ = _strict_prfs(y_true, y_pred, average="micro", **common)
    p_t, r_t, f_t, s_t = _strict_prfs(y_true, y_pred, average=None, **common)
    types = sorted(ents_true.unique_tags | ents_pred.unique_tags)
    per_type = {name: {"f1": float(f), "precision": float(p), "recall": float(r),
                       "support": int(s)}
                for name, p, r, f, s in zip(types, p_t, r_t, f_t, s_t)}
    if token is BILOU:  # default mode knows IOBES prefixes only: L- is E-, U- is S-
        y_true, y_pred = _bilou_to_iobes(y_true), _bilou_to_iobes(y_pred)
    return {"f1": float(f1), "precision": float(precision), "recall": float(recall),
            "f1_default": float(_seqeval_f1(y_true, y_pred, zero_division=0)),
            "support": int(sum(s_t)), "per_type": per_type}


def _bilou_to_iobes(rows: list[list[str]]) -> list[list[str]]:
    table = {"L": "E", "U": "S"}
    return [[table.get(t[:1], t[:1]) + t[1:] for t in row] for row in rows]
