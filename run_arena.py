#!/usr/bin/env python3
"""Run the arena: ``python run_arena.py serve | models | leaderboard`` (``--help`` for more)."""

import sys

from arena.cli import main

if __name__ == "__main__":
    sys.exit(main())
