"""The public release of an arena's data (``run_arena.py export --public``): battles with
both conversations, scrubbed of personal data, with a dataset card and the board they
give (docs/release.md)."""
