"""The arena's adapters over Gradio's internals fail loudly when a Gradio upgrade moves
what they lean on (issue 23), and do what they claim on a real server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from gradio_client import Client

from arena.backends.supervisor import free_port
from arena.ui.queue import GRADIO_LOOP, gradio_loop_hash, woken_queue

pytestmark = pytest.mark.no_database


def test_the_queue_loop_the_arena_replaced_is_the_one_gradio_runs() -> None:
    assert gradio_loop_hash() == GRADIO_LOOP, (
        "Gradio's Queue.start_processing changed: re-read arena/ui/queue.py's copy "
        "against the new one, then update GRADIO_LOOP"
    )


def _parked(coroutine: object) -> list[str]:
    """The chain of coroutines a task is suspended in, outermost first."""
    chain = []
    while coroutine is not None:
        chain.append(getattr(coroutine, "__qualname__", type(coroutine).__name__))
        coroutine = getattr(coroutine, "cr_await", None)
    return chain


async def _build() -> FastAPI:
    # Built inside a running loop: outside one, Gradio makes (and leaks) a loop per lock.
    with gr.Blocks() as blocks:
        box = gr.Number()
        out = gr.Number()

        async def double(x: float) -> float:
            await asyncio.sleep(0.05)
            return 2 * x

        box.submit(double, box, out, api_name="double")
        box.change(double, box, out, api_name="single", concurrency_limit=1)
    woken_queue(blocks, 1000)
    api = FastAPI()

    @api.get("/processing")
    async def processing() -> list[list[str]]:
        return [
            _parked(task.get_coro())
            for task in asyncio.all_tasks()
            if "start_processing" in getattr(task.get_coro(), "__qualname__", "")
        ]

    return gr.mount_gradio_app(api, blocks, path="/")


@pytest.fixture
def woken_app() -> Iterator[str]:
    """A Gradio app with the arena's queue, on a real server on 127.0.0.1: one event
    that runs freely and one limited to a single job at a time."""
    app = asyncio.run(_build())  # on a running loop, as the arena builds its page
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(30)


def test_an_idle_queue_waits_for_work_and_every_event_is_still_served(woken_app: str) -> None:
    def parked() -> list[list[str]]:
        return httpx.get(woken_app + "processing", timeout=10).json()

    # Idle: the loop is parked on its wake event, not sleeping a millisecond at a time.
    (chain,) = parked()
    assert chain[1] == "Event.wait", chain
    client = Client(woken_app, verbose=False)
    with ThreadPoolExecutor(8) as pool:
        free = list(pool.map(lambda x: client.predict(x, api_name="/double"), range(8)))
        single = list(pool.map(lambda x: client.predict(x, api_name="/single"), range(6)))
    assert free == [2 * x for x in range(8)]
    assert single == [2 * x for x in range(6)]  # each waited for the one before it
    (chain,) = parked()
    assert chain[1] == "Event.wait", chain  # and parked again once the work is done
