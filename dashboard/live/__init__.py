"""The page's state: events in (live queues, run-log tails), series out; no widgets, no torch.

``source.py`` (where events come from), ``state.py`` (the pure event → series reducer),
``series.py`` (growable arrays).

May import: adaft_core's events, modes (plan text), store. Never the views or the form.
"""
