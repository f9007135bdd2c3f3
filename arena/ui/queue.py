"""Gradio's event queue, woken by work instead of polling.

Gradio's queue looks for work every millisecond while it has none (``asyncio.sleep
(0.001)`` in ``Queue.start_processing``) and for progress to send every 10 ms: an idle
arena process spent 48 ms of CPU a second on it (4.8% of a core; 19% of a process
capped at a quarter core, and paid again by every process added behind a balancer).
The arena's battles do not go through the queue at all (``arena/web/battle.py``);
what does (the leaderboard's controls, direct chat, the admin view, ``gradio_client``)
is woken here the moment it is pushed or a job ends. Idle, the process now spends 2-3
ms a second.

This is the one place that reaches into Gradio's queue. ``GRADIO_LOOP`` is the hash
of the loop this replaces; ``tests/test_gradio_adapters.py`` fails when a Gradio
upgrade changes it, so the copy below is re-read against the new one rather than
silently drifting from it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import time
from typing import Any

import gradio as gr
from gradio.queueing import Queue
from gradio.utils import run_coro_in_background, set_task_name

__all__ = ["GRADIO_LOOP", "gradio_loop_hash", "woken_queue"]

# sha256 of inspect.getsource(gradio.queueing.Queue.start_processing), Gradio 6.31.
GRADIO_LOOP = "d65be5a5cbed97d75e13233ab7d0dfc9f347c4ffd33bdcb47293d696f38aaa1f"
PROGRESS_EVERY_S = 0.25  # progress bars: the arena shows none; a quarter second is ample


def gradio_loop_hash() -> str:
    """The hash of the Gradio loop ``woken_queue`` replaces, as installed."""
    return hashlib.sha256(inspect.getsource(Queue.start_processing).encode()).hexdigest()


def woken_queue(blocks: gr.Blocks, jobs: int) -> None:
    """Let Gradio's queue run up to ``jobs`` events at once, and wait for work without
    polling: a push or a finished job wakes it. Call before the app starts."""
    queue = blocks._queue
    queue.max_thread_count = jobs
    queue.progress_update_sleep_when_free = PROGRESS_EVERY_S
    woken = _Wake()
    wake = woken.set

    push = queue.push
    process_events = queue.process_events

    async def pushed(*args: Any, **kwargs: Any) -> Any:
        try:
            return await push(*args, **kwargs)
        finally:
            wake()

    async def processed(*args: Any, **kwargs: Any) -> Any:
        try:
            return await process_events(*args, **kwargs)
        finally:
            wake()  # a job slot (and its concurrency group) is free again

    # Instance attributes: Gradio calls each as self.<name>, so these are what it runs.
    setattr(queue, "push", pushed)  # noqa: B010 - mypy refuses assigning to a method
    setattr(queue, "process_events", processed)  # noqa: B010
    setattr(queue, "start_processing", functools.partial(_start_processing, queue, woken))  # noqa: B010


class _Wake:
    """The queue's wake-up call. Its event is made on the loop that serves (a process
    may build its app before that loop runs); a call before then has nobody to wake."""

    def __init__(self) -> None:
        self.event: asyncio.Event | None = None

    def set(self) -> None:
        if self.event is not None:
            self.event.set()


async def _start_processing(self: Queue, wake: _Wake) -> None:
    """Gradio's ``Queue.start_processing`` (6.31), waiting on the wake event where it
    slept a millisecond. Nothing else changed: the same events, in the same order."""
    wake.event = woken = asyncio.Event()
    try:
        while not self.stopped:
            if len(self) == 0 or None not in self.active_jobs:
                woken.clear()
                await woken.wait()
                continue

            async with self.delete_lock:
                event_batch = self.get_events()

            if event_batch:
                events, batch, concurrency_id = event_batch
                self.active_jobs[self.active_jobs.index(None)] = events
                event_queue = self.event_queue_per_concurrency_id[concurrency_id]
                event_queue.current_concurrency += 1
                start_time = time.time()
                fn = events[0].fn
                event_queue.start_times_per_fn[fn].add(start_time)
                for event in events:
                    if (a := self.event_analytics.get(event._id)) is not None:
                        a["status"] = "processing"
                process_event_task = run_coro_in_background(
                    self.process_events, events, batch, start_time, fn
                )
                set_task_name(
                    process_event_task, events[0].session_hash, fn._id, events[0]._id, batch
                )
                self._asyncio_tasks.add(process_event_task)
                process_event_task.add_done_callback(self._asyncio_tasks.discard)
                if self.live_updates:
                    self.broadcast_estimations(concurrency_id)
            else:  # every queued event's group is at its limit: wait for a job to end
                woken.clear()
                await woken.wait()
    finally:
        self.stopped = True
        self._cancel_asyncio_tasks()
