"""A finished run told from its run log, for people who were not watching: the facts a model card
and a report page share (``facts.py``). Torch-free and widget-free: the page itself, which draws
the dashboard's own figures, lives with the dashboard (``adaft_dashboard.views.report_page``); the model
card in ``model_card.py``. Everything here reads what the events say — decisions, plans and
scores are taken from them, never re-derived.

May import: errors, events, settings (a config as its command line) and store (run logs). Never
run/ (the loop writes the model card through this folder), cli/, integrations/, studies/ or the
dashboard.
"""

from adaft_core.report.facts import RunFacts, per_type_rows

__all__ = ["RunFacts", "per_type_rows"]
