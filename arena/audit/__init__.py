"""Auditing an endpoint against the weights it claims (issue #13): the statistics first.

- :mod:`arena.audit.mmd`: the two-sample test of Model Equality Testing (MMD with a
  Hamming kernel on completions of the same prompts, calibrated by permutation).

Still to come (see the issue): the cheap gates (tokenizer counts from ``usage``,
self-identification, the vendor-name echo), the ``run_arena.py models audit`` command
with its budget and early stopping, monitoring from battles, and the board's marks.
"""
