"""Auditing an endpoint against the weights it claims (issue #13; docs/audit.md).

- :mod:`arena.audit.gates`: the cheap gates (token counts, self-identification, echo).
- :mod:`arena.audit.mmd`: the two-sample test of Model Equality Testing (MMD with a
  Hamming kernel on completions of the same prompts, calibrated by permutation).
- :mod:`arena.audit.run`: an audit within a budget, stopping at the first decisive
  test; ``run_arena.py models audit``.

Still to come: monitoring from battles, the board's marks, bench/audit.py.
"""
