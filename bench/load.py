"""Load: many concurrent battles through the real web server, as browsers drive it.

    python bench/load.py [--battles 100] [--levels 10,50,100] [--tokens 40] [--rate 25]

A stand-in OpenAI-compatible server (its own process) streams ``--tokens`` tokens at
``--rate`` tokens/s after a first-token delay of ``--ttft`` seconds, so the arena's own
overhead is what gets measured. The arena runs as users run it (``run_arena.py
serve``, its own process, SQLite) with four models on the stand-in. The client speaks
Gradio's queue protocol over HTTP (join, then the server-sent event stream), one
session per simulated voter, who sends a prompt, reads both answers to the end,
votes, presses New round and goes on.

Reported per concurrency level: battles per second, time to first token added by
the arena over the stand-in's own (p50/p95, per side), the p95 gap between a side's
updates, and errors. The issue's target on a 2-core machine: 100 concurrent battles
(200 streams) with p95 added time to first token under 100 ms and no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arena.backends.supervisor import free_port  # noqa: E402

# ---------------------------------------------------------------- the stand-in backend


def standin(port: int, ttft: float, tokens: int, rate: float) -> None:
    """An OpenAI-compatible chat-completions server that streams at a set pace."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    def chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
        body = {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    async def completions(request: Request) -> StreamingResponse:
        model = (await request.json())["model"]

        async def events() -> Any:
            await asyncio.sleep(ttft)
            start = time.monotonic()
            for i in range(tokens):
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                yield chunk(model, {"content": f"w{i} "})
            yield chunk(model, {}, "stop")
            usage = {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": tokens + 5}
            end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model}
            yield f"data: {json.dumps({**end, 'choices': [], 'usage': usage})}\n\ndata: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/health", health),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", backlog=4096)


# ---------------------------------------------------------------- one battle, as a browser


@dataclass
class Battle:
    joined: float = 0.0
    first: dict[int, float] = field(default_factory=dict)  # side -> seconds to first text
    updates: dict[int, list[float]] = field(default_factory=lambda: {0: [], 1: []})
    finished: float | None = None
    voted: bool = False
    error: str | None = None


def _has_text(ops: Any) -> bool:
    """Whether a chatbot output update carries answer text (a diff or a whole value)."""
    if isinstance(ops, list):
        for op in ops:
            if isinstance(op, list) and len(op) == 3 and isinstance(op[2], str) and op[2].strip():
                return True
            if isinstance(op, dict) and op.get("role") == "assistant":
                content = op.get("content")
                if isinstance(content, str) and content.strip():
                    return True
                if isinstance(content, list) and any(
                    isinstance(c, dict) and str(c.get("text", "")).strip() for c in content
                ):
                    return True
            if isinstance(op, list) and _has_text(op):
                return True
    return False


class Client:
    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url.rstrip("/")
        self.http = http
        self.fns: dict[str, tuple[int, int | None]] = {}

    async def load(self) -> None:
        config = (await self.http.get(self.url + "/config")).json()
        for dep in config["dependencies"]:
            name = dep.get("api_name")
            if name:
                targets = dep.get("targets") or [[None]]
                self.fns[name] = (dep["id"], targets[0][0] if targets else None)

    async def call(
        self, api: str, data: list[Any], session: str, on_message: Any = None
    ) -> dict[str, Any]:
        fn_index, trigger = self.fns[api]
        joined = await self.http.post(
            self.url + "/gradio_api/queue/join",
            json={
                "data": data,
                "fn_index": fn_index,
                "trigger_id": trigger,
                "session_hash": session,
                "event_data": None,
            },
        )
        joined.raise_for_status()
        async with self.http.stream(
            "GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": session}
        ) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if os.environ.get("LOAD_DEBUG"):
                    print(message, flush=True)
                if on_message is not None:
                    on_message(message)
                if message.get("msg") == "process_completed":
                    return message
        raise RuntimeError("the event stream ended before the result")

    async def battle(self, prompt: str, session: str) -> Battle:
        """One battle in ``session``: send, read both answers, vote, New round."""
        result = Battle()
        start = time.monotonic()

        def on_message(message: dict[str, Any]) -> None:
            if message.get("msg") not in ("process_generating", "process_completed"):
                return
            now = time.monotonic() - start
            outputs = (message.get("output") or {}).get("data") or []
            for side in (0, 1):
                if side < len(outputs) and _has_text(outputs[side]):
                    result.first.setdefault(side, now)
                    result.updates[side].append(now)

        try:
            done = await self.call("send", [prompt, None], session, on_message)
            if not done.get("success", False):
                raise RuntimeError(str(done.get("output", {}).get("error")))
            result.finished = time.monotonic() - start
            vote = await self.call("model_a", [None], session)
            result.voted = bool(vote.get("success"))
            if not result.voted:
                raise RuntimeError(f"vote: {vote.get('output', {}).get('error')}")
            await self.call("new_round", [], session)
        except Exception as exc:  # counted and reported, never hidden
            result.error = f"{type(exc).__name__}: {exc}"
        return result


# ---------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def level(client: Client, concurrency: int, battles: int, ttft: float) -> dict[str, Any]:
    """``concurrency`` voters, each in its own browser session, doing battles one after
    another (vote, New round, next prompt) until ``battles`` are done."""
    numbers = iter(range(battles))
    results: list[Battle] = []

    async def voter() -> None:
        session = uuid.uuid4().hex[:11]
        for i in numbers:
            results.append(
                await client.battle(f"Load test prompt {i}: tell me something.", session)
            )

    started = time.monotonic()
    await asyncio.gather(*(voter() for _ in range(concurrency)))
    wall = time.monotonic() - started
    ok = [r for r in results if r.error is None]
    added = [(t - ttft) * 1000 for r in ok for t in r.first.values()]
    gaps = [
        (b - a) * 1000
        for r in ok
        for times in r.updates.values()
        for a, b in zip(times, times[1:], strict=False)
    ]
    errors = [r.error for r in results if r.error]
    return {
        "concurrency": concurrency,
        "battles": battles,
        "completed": len(ok),
        "battles_per_s": len(ok) / wall,
        "added_ttft_p50_ms": percentile(added, 0.5),
        "added_ttft_p95_ms": percentile(added, 0.95),
        "gap_p95_ms": percentile(gaps, 0.95),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": wall,
    }


CONFIG = """\
[arena]
terms = ""
# Every simulated voter comes from 127.0.0.1: lift the per-IP and per-session limits.
prompts_per_minute = 0
ip_prompts_per_minute = 0
votes_per_day = 0
ip_votes_per_day = 0
{models}
"""

MODEL = """
[[models]]
name = "standin-{i}"
kind = "openai"
base_url = "http://127.0.0.1:{port}/v1"
params = {{ max_tokens = 64 }}
"""


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    backend_port, arena_port = free_port(), free_port()
    backend = multiprocessing.Process(
        target=standin, args=(backend_port, args.ttft, args.tokens, args.rate), daemon=True
    )
    backend.start()
    folder = Path(tempfile.mkdtemp(prefix="arena-load-"))
    config = folder / "arena.toml"
    models = "".join(MODEL.format(i=i, port=backend_port) for i in range(4))
    config.write_text(CONFIG.format(models=models))
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run_arena.py"), "serve", "--config", str(config)]
        + ["--port", str(arena_port), "--db", f"sqlite:///{folder / 'load.db'}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    url = f"http://127.0.0.1:{arena_port}"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    try:
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if (await http.get(url + "/api/health")).json()["status"] == "ok":
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((folder / "serve.log").read_text())
                await asyncio.sleep(0.3)
            client = Client(url, http)
            await client.load()
            await client.battle("warm-up", uuid.uuid4().hex[:11])
            rows = []
            for concurrency in args.levels:
                row = await level(client, concurrency, max(args.battles, concurrency), args.ttft)
                rows.append(row)
                print(
                    f"{concurrency:>5} concurrent: {row['completed']}/{row['battles']} battles, "
                    f"{row['battles_per_s']:.1f} battles/s, added TTFT p50 "
                    f"{row['added_ttft_p50_ms']:.0f} ms p95 {row['added_ttft_p95_ms']:.0f} ms, "
                    f"gap p95 {row['gap_p95_ms']:.0f} ms, errors {row['errors']}"
                    + (f" ({row['first_error']})" if row["first_error"] else ""),
                    flush=True,
                )
            return rows
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        backend.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--battles", type=int, default=100, help="battles per level (100)")
    parser.add_argument(
        "--levels",
        default="10,50,100",
        type=lambda s: [int(x) for x in s.split(",")],
        help="concurrent battles to try (10,50,100)",
    )
    parser.add_argument("--tokens", type=int, default=40, help="tokens per answer (40)")
    parser.add_argument("--rate", type=float, default=25.0, help="tokens/s per stream (25)")
    parser.add_argument("--ttft", type=float, default=0.2, help="stand-in first token, s (0.2)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    print(
        f"stand-in: first token {args.ttft * 1000:.0f} ms, {args.tokens} tokens at "
        f"{args.rate:g}/s; machine: {os.cpu_count()} cores",
        flush=True,
    )
    rows = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    target = next((r for r in rows if r["concurrency"] == 100), None)
    if target is not None:
        verdict = (
            "meets" if target["added_ttft_p95_ms"] < 100 and target["errors"] == 0 else "misses"
        )
        print(f"target (100 concurrent, p95 added TTFT < 100 ms, no errors): {verdict}")


if __name__ == "__main__":
    main()
