"""The teaching pieces: the schedule demo a learner edits, and replaying a recorded run.

``demo.py`` (move the settings, edit a validation-loss curve, see the LR and the decisions),
``replay.py`` (the dashboard's own views fed from a run log, step by step).

May import: adaft_dashboard.live and views, adaft_core's modes (teaching), events and examples.
"""
