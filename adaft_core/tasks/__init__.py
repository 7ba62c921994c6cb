"""Task layers: how a task's examples become model features and predictions become metrics.

``ner``: token classification (first-sub-token labels, word-boundary chunking, seqeval scores).
Modules are imported explicitly (``from adaft_core.tasks import ner``) so that importing the
package stays cheap.
"""
