"""Designing and starting runs from the page: the form, its command line and the trainer.

``form.py`` (settings from their declarations, Start / Stop), ``command.py`` (the equivalent
``adaft train`` line), ``trainer.py`` (a launched process, or a kernel thread).

May import: adaft_dashboard.views, and adaft_core's settings, store and its top-level ``train``.
"""
