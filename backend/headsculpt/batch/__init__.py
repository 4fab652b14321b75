"""Heads by the hundred: a prompts file run on Ray workers (`headsculpt batch`, docs/batch.md).

Beside ``api/`` and above ``pipelines/``: ``items`` reads and checks the file (with the
registry's own checks, so a row is refused exactly as ``headsculpt generate`` would
refuse it), ``manifest`` records one row per item and decides what a second run skips,
``item_files`` is the output folder's layout and its atomic publishing, ``worker`` runs
items with a pipeline loaded once, ``scheduler`` hands items to Ray actors and retries
those whose worker died, ``driver`` ties them together and ``sheet`` draws the previews.
Only ``scheduler`` and ``driver`` touch Ray, and only inside functions: the package
imports without it.
"""
