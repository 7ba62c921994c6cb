"""The event contract: what a run tells the world, and how people read it.

``schema.py`` (every event kind, its fields and their meaning), ``emitter.py`` (frozen event
records, the emitter and its sinks), ``display.py`` (numbers of the log shown to people).

May import: errors only. Torch-free; the run log (``events.jsonl``) is this contract on disk.
"""
