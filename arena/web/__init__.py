"""The arena over HTTP, beside the Gradio page: the routers the page's script and
other clients call, and what both front ends share (the voter behind a request, the
views of a turn, the rendering of content).

- ``api.py``     ``/api/models``, ``/api/leaderboard``, the organizer's ``/api/admin/*``
- ``battle.py``  a battle played by the page's script: ``/api/turn``, ``/api/vote``,
  ``/api/stop``; its handlers are the ones the Gradio API events call too
- ``stream.py``  a turn's answers as server-sent events (``/api/stream/{token}``)
- ``proof.py``   the proof of work's challenge and its cookie (``/api/proof``)
- ``share.py``   a voted battle's read-only page (``/share/{id}``)
- ``voters.py``  the voter behind a request, and the arena's errors as HTTP answers
- ``view.py``, ``render.py``  what a turn shows, and content as sanitised HTML
"""

from pathlib import Path

__all__ = ["STATIC"]

STATIC = Path(__file__).resolve().parents[2] / "static"  # stylesheet, logo, the page's script
