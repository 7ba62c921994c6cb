"""Task layers: how a task's examples become model features and predictions become metrics.

``ner``: token classification (first-sub-token labels, word-boundary chunking, seqeval scores).
``classification`` / ``regression``: sentence(-pair) classification and STS-style regression
(``classification.py``; GLUE metrics in ``glue_metrics.py``, label maps in ``pair_labels.py``).
Modules are imported explicitly (``from adaft_core.tasks import ner``) so that importing the
package stays cheap.
"""
