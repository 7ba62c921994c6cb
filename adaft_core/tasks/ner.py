"""The ``ner`` task: load the corpus, tokenise once, build the model and score predictions."""

from __future__ import annotations

import warnings

import numpy as np

from adaft_core.data import empty_tokens, load_ner_data
from adaft_core.tasks.models import load_token_classifier, load_tokenizer, resolve_model
from adaft_core.tasks.base import PreparedTask
from adaft_core.tasks.ner_features import HEADLINE_METRIC, NerCollator, decode_predictions, encode_sentences, merge_chunks, ner_metrics


def prepare_ner(cfg) -> PreparedTask:
    """Data and tokenizer checks happen here, before the engine creates the run folder."""
    data = load_ner_data(cfg.data, train_fraction=cfg.train_fraction, val_fraction=cfg.val_fraction)
    model_path = resolve_model(cfg.model)
    tokenizer = load_tokenizer(model_path, pretokenized=True)
    labels = list(data.labels)
    label2id = {label: i for i, label in enumerate(labels)}
    splits = {"train": data.train, "validation": data.validation, "test": data.test}
    features = {name: encode_sentences(sents, tokenizer, label2id, cfg.max_seq_length)
                for name, sents in splits.items()}
    n_empty = warn_empty_tokens([s for sents in splits.values() for s in sents], tokenizer)

    def compute_metrics(batches, split_features):
        return _score(batches, split_features, labels)

    info = {"data": data.name, "labels": labels, "train_size": len(data.train),
            "val_size": len(data.validation), "test_size": len(data.test),
            "chunks": {name: len(f) for name, f in features.items()}, "empty_tokens": n_empty}
    return PreparedTask(
        name="ner", metric=HEADLINE_METRIC, labels=labels, tokenizer=tokenizer,
        model_path=model_path, features=features, collator=NerCollator(tokenizer.pad_token_id),
        load_model=lambda: load_token_classifier(model_path, labels),
        compute_metrics=compute_metrics, info=info, val_loss=cfg.val_loss,
    )


def warn_empty_tokens(sentences, tokenizer) -> int:
    """Count the empty tokens of the run's sentences; warn once, naming where the first one is."""
    count, first = empty_tokens(sentences)
    if count:
        unk = tokenizer.unk_token or "the unknown token"
        warnings.warn(f"adaft: {count} empty token(s) (a line holding only a tag, e.g. a stripped emoji) "
                      f"are read as {unk}, keeping their tags; the first is at {first}", stacklevel=3)
    return count


def _score(batches, split_features, labels) -> dict:
    """``batches``: [(feature_indices, pred_ids, label_ids)] from every rank, maybe duplicated.

    Rows are put back in feature order (duplicates that a data-parallel sampler added to even
    out the last batch are dropped), decoded to tags, glued per sentence and scored.
    """
    rows: dict[int, tuple[list[str], list[str]]] = {}
    for indices, preds, gold in batches:
        true_rows, pred_rows = decode_predictions(preds, gold, labels)
        for i, t, p in zip(np.asarray(indices).tolist(), true_rows, pred_rows):
            rows.setdefault(int(i), (t, p))
    order = sorted(rows)
    feats = [split_features[i] for i in order]
    true_tags = merge_chunks([rows[i][0] for i in order], feats)
    pred_tags = merge_chunks([rows[i][1] for i in order], feats)
    return ner_metrics(true_tags, pred_tags)
