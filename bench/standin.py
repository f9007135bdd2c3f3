"""The stand-in model server of bench/load.py: an OpenAI-compatible chat-completions
endpoint that streams at a set pace, in a process of its own."""

from __future__ import annotations

import asyncio
import json
import time


def standin(port: int, ttft: float, tokens: int, rate: float) -> None:
    """An OpenAI-compatible chat-completions server that streams at a set pace.

    Plain asyncio streams (HTTP/1.1 keep-alive, chunked event stream) rather than a
    web framework: a framework costs ~100 us of CPU per chunk, and at 200 voters the
    stand-in writes ~7,000 chunks/s on the machine it shares with the arena."""

    def frame(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)

    async def answer(writer: asyncio.StreamWriter, model: str) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        head = (
            '{"id":"x","object":"chat.completion.chunk","created":0,"model":'
            + json.dumps(model)
            + ","
        ).encode()
        await asyncio.sleep(ttft)
        start = time.monotonic()
        for i in range(tokens):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(
                frame(
                    b'data: %s"choices":[{"index":0,"delta":{"content":"w%d "},'
                    b'"finish_reason":null}]}\n\n' % (head, i)
                )
            )
        usage = b'{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}' % (
            tokens,
            tokens + 5,
        )
        writer.write(
            frame(
                b'data: %s"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'
                b'\n\ndata: %s"choices":[],"usage":%s}\n\ndata: [DONE]\n\n' % (head, head, usage)
            )
            + b"0\r\n\r\n"
        )
        await writer.drain()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *headers = head.decode("latin-1").split("\r\n")
                length = 0
                for line in headers:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if " /v1/chat/completions" in request_line:
                    await answer(writer, json.loads(body).get("model", "standin"))
                else:  # /health and anything else
                    ok = b'{"status":"ok"}'
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(ok), ok)
                    )
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=4096)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
