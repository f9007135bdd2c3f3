"""Auditing an endpoint against the weights it claims (docs/audit.md).

- :mod:`arena.audit.gates`: the cheap gates (token counts, self-identification, echo).
- :mod:`arena.audit.mmd`: the two-sample test of Model Equality Testing (MMD over
  completions of the same prompts, calibrated by permutation), with its Hamming kernel
  or a character n-gram kernel (the audit's and the monitor's: more power here).
- :mod:`arena.audit.run`: an audit within a budget, stopping at the first decisive
  test; ``run_arena.py models audit``.
- :mod:`arena.audit.monitor`: the scheduled check of the answers battles collected
  against the reference's (no query to the audited model); ``models monitor``.

Verdicts are kept in the ``audits`` table (:mod:`arena.store.audits`) and shown on the
leaderboard, in ``/api/models`` and in the admin view.
"""
