"""Padding-free steps: the same batches, no work on pad positions (config ``padding_free``).

A batch of sentences is packed into one row of ``T`` real tokens (``input_ids``, ``labels``,
``position_ids`` restarting at every sentence), so the embeddings, every linear, feed-forward and
LayerNorm layer, the classifier and the loss see real tokens only. Attention alone needs the
sentences apart: :func:`per_sentence_attention`, registered with transformers'
``AttentionInterface`` under :data:`ATTENTION`, runs torch's ``scaled_dot_product_attention`` on
each sentence's slice of the packed queries, keys and values. The sentence boundaries travel as the
keyword arguments that ``DataCollatorWithFlattening(return_flash_attn_kwargs=True)`` gives
(``cu_seq_lens_q``, ``max_length_q``, …), which transformers hands down to the attention function.
The model's forward is transformers' own; only the attention function is ours.

Why this (measured on the project's 2-core CPU, MiniLM, WikiGold, random batches of 16, forward +
backward per batch): padded 0.44 s; packed with transformers' own SDPA path (position ids alone:
it builds a block-diagonal ``T × T`` mask) 0.28–0.30 s; packed, attention re-padded into a
``(sentences, longest)`` grid (unpad → dense layers → re-pad around attention) 0.26–0.30 s;
packed with one SDPA call per sentence 0.24–0.26 s; with attention skipped altogether 0.20 s,
the floor. Per-sentence attention is the fastest and the smallest; the block mask also grows with
``T²`` (an evaluation batch of 64 sentences would pay 64× their attention work). Flex attention
needs ``torch.compile`` on the CPU (slow to start, fragile). ``DataCollatorWithFlattening`` itself
is not used: it overwrites each sentence's first label with its separator, a word's label for a
tokenizer that adds no leading special token.

Sentence-level tasks (classification of a sentence or a pair, regression) have one label per
sentence, and their heads read each sentence's first position (BERT's pooler, RoBERTa's and
ELECTRA's classification heads). For them the packed row goes through the embeddings and every
encoder layer as above; a forward hook on the encoder (:func:`regrid_encoder_output`, torch's own
mechanism: the model's forward stays transformers') puts the encoder's output back in the padded
``(sentences, longest, hidden)`` grid, so the pooler, the head and the loss run as on a padded
batch, on ``(sentences,)`` labels.

Which models take it is not listed by name: :func:`packed_collator` runs a probe (a few training
sentences, evaluation mode) and keeps padding-free only where the packed logits equal the padded
ones; otherwise — models whose attention does not go through ``AttentionInterface``, heads that
read other positions — the run uses padded batches and says so in one log line. RoBERTa-family
models number positions from ``padding_idx + 1``; the packed position ids do the same. A padded
batch given to a model set up here still gets plain SDPA.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

ATTENTION = "adaft_per_sentence"
PACKED_KEYS = ("input_ids", "labels", "token_type_ids")
log = logging.getLogger("adaft")


def per_sentence_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                           cu_seq_lens_q=None, **kwargs):
    """Attention of a packed ``(1, heads, T, dim)`` row, one SDPA call per sentence on its own slice
    (an ``AttentionInterface`` function: returns ``(1, T, heads, dim)`` and no weights)."""
    if cu_seq_lens_q is None:  # a padded batch (a caller without the packed collator): plain SDPA
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                      dropout=dropout, **kwargs)
    lengths = cu_seq_lens_q.diff().tolist()  # on a GPU: one sync per layer (its varlen flash kernels avoid it)
    dropout = dropout if module.training else 0.0
    # split, not slicing: the backward of a split is one concatenation, of a slice a zeroed full-size buffer per sentence
    out = torch.cat([F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=scaling)
                     for q, k, v in zip(query.split(lengths, 2), key.split(lengths, 2), value.split(lengths, 2))],
                    dim=2)
    return out.transpose(1, 2), None


def padded_batch_mask(*, attention_mask=None, **kwargs):
    """The ``AttentionMaskInterface`` entry of :data:`ATTENTION`: a padded batch (2-D attention mask)
    gets SDPA's usual mask; a packed one none (its boundaries are ``cu_seq_lens_q``: no ``T × T`` mask)."""
    if attention_mask is None:
        return None
    from transformers.masking_utils import sdpa_mask

    return sdpa_mask(attention_mask=attention_mask, **kwargs)


def grid_mask(cu_seq_lens: torch.Tensor, longest: int) -> torch.Tensor:
    """``(sentences, longest)`` bool: True where a packed token sits in the padded grid."""
    lengths = cu_seq_lens.diff()
    return torch.arange(int(longest), device=lengths.device) < lengths[:, None]


def repad(packed: torch.Tensor, batch: dict, fill: float | int = 0) -> torch.Tensor:
    """A packed ``(1, T, ...)`` output (logits, labels) back in the padded ``(sentences, longest, ...)`` shape."""
    if "cu_seq_lens_q" not in batch:
        return packed  # already padded
    keep = grid_mask(batch["cu_seq_lens_q"], batch["max_length_q"])
    out = packed.new_full((*keep.shape, *packed.shape[2:]), fill)
    out[keep] = packed[0]
    return out


def regrid_encoder_output(module, args, kwargs, output):
    """Forward hook (``with_kwargs``) on a sentence-level model's encoder: a packed row's output goes
    back in the padded ``(sentences, longest, hidden)`` grid, where the model's pooler or head reads
    each sentence's first position; a padded batch's output is left as it is."""
    if kwargs.get("cu_seq_lens_q") is None:
        return None
    output.last_hidden_state = repad(output.last_hidden_state, kwargs)
    return output


@dataclass(frozen=True)
class PackedCollator:
    """``collate_fn``: the batch's sentences as one row with restarting position ids (picklable).
    ``per_token``: labels are per token (packed with the row); else one per sentence, ``(sentences,)``."""

    position_start: int = 0
    per_token: bool = True

    def __call__(self, features) -> dict:
        lengths = torch.tensor([len(f["input_ids"]) for f in features], dtype=torch.long)
        keys = [k for k in PACKED_KEYS if k in features[0] and (self.per_token or k != "labels")]
        batch = {key: torch.tensor([t for f in features for t in f[key]], dtype=torch.long)[None] for key in keys}
        if not self.per_token and all("labels" in f for f in features):  # (an eval set without labels: none)
            batch["labels"] = torch.tensor([f["labels"] for f in features])  # int classes or float targets
        starts = torch.repeat_interleave(lengths.cumsum(0) - lengths, lengths)
        batch["position_ids"] = (torch.arange(int(lengths.sum())) - starts + self.position_start)[None]
        cu = F.pad(lengths.cumsum(0), (1, 0)).to(torch.int32)
        longest = int(lengths.max())
        batch.update(cu_seq_lens_q=cu, cu_seq_lens_k=cu, max_length_q=longest, max_length_k=longest)
        return batch


def labels_per_token(task) -> bool:
    """Whether ``task``'s training features carry a label per token (token classification: the
    packed row keeps them and the logits come out packed); sentence-level tasks have one each."""
    features = task.features["train"][:1]
    return bool(features) and isinstance(features[0].get("labels"), list)


def packed_collator(model, task, padded_collator, sentences: bool = True):
    """The collator a run uses: packed where the probe shows the model gives the padded results,
    else ``padded_collator`` with one log line saying why. ``sentences=False`` keeps sentence-level
    tasks on padded batches (a run resumed from a version that did not pack them)."""
    features = task.features["train"][:4]
    per_token = labels_per_token(task)
    if not per_token and not sentences:
        return _fallback(f"task {task.name!r} started on padded batches (resumed as it began)", padded_collator)
    previous = model.config._attn_implementation
    collator = PackedCollator(getattr(_embeddings(model), "padding_idx", -1) + 1, per_token=per_token)
    hook = None
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface

        if not per_token:
            encoder = _encoder(model)
            if encoder is None:
                raise AttributeError("no encoder module to hand its output to the sentence head")
            hook = encoder.register_forward_hook(regrid_encoder_output, with_kwargs=True)
        AttentionInterface.register(ATTENTION, per_sentence_attention)
        AttentionMaskInterface.register(ATTENTION, padded_batch_mask)
        model.set_attn_implementation(ATTENTION)
        same = _probe(model, features, collator, padded_collator)
    except (ValueError, TypeError, RuntimeError, AttributeError, NotImplementedError) as exc:
        same = False
        why = f"{type(exc).__name__}: {exc}"
    else:
        why = "its packed outputs differ from the padded ones"
    if same:
        return collator
    if hook is not None:
        hook.remove()
    model.set_attn_implementation(previous)
    return _fallback(f"{type(model).__name__} cannot take packed batches ({why})", padded_collator)


def _probe(model, features, collator, padded_collator) -> bool:
    """Packed and padded logits of a few sentences agree (evaluation mode, no RNG drawn)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            strip = [{k: v for k, v in f.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
                     for f in features]
            padded = {k: v.to(device) for k, v in padded_collator(features).items() if k != "labels"}
            packed = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in collator(strip).items()}
            a, b = model(**padded).logits, model(**packed).logits
            if not collator.per_token:  # one row of logits per sentence already
                return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-4)
            b, mask = repad(b, packed), padded["attention_mask"].bool()
            return a.shape == b.shape and torch.allclose(a[mask], b[mask], rtol=1e-4, atol=1e-4)
    finally:
        model.train(was_training)


def _embeddings(model):
    base = getattr(model, model.base_model_prefix, model)
    return getattr(base, "embeddings", None)


def _encoder(model):
    """The module whose output holds the last layer's hidden states (BERT, RoBERTa, ELECTRA:
    ``encoder``; DistilBERT: ``transformer``); None if the model has neither."""
    base = getattr(model, model.base_model_prefix, model)
    encoder = getattr(base, "encoder", None)
    return encoder if encoder is not None else getattr(base, "transformer", None)


def _fallback(reason: str, padded_collator):
    log.warning("adaft: padding-free off for this run, using padded batches: %s", reason)
    return padded_collator
