"""The version of arena and its ratings library, defined once (pyproject.toml reads it):
a plain constant, because asking importlib.metadata costs 20 ms of every start."""

__version__ = "0.1.0"
