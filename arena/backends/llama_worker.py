"""The process that serves one GGUF file with llama.cpp (xllamacpp's server).

Run by :class:`arena.backends.local.LocalBackend` through the supervisor, never in the
web process: ``python -m arena.backends.llama_worker --model FILE --port N``. It
serves OpenAI-compatible ``/v1/chat/completions``, ``/health`` and ``/v1/models`` on
127.0.0.1 until it is terminated, or until the process that started it is gone (an
arena killed outright cannot stop its workers; they notice within a second).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx-size", type=int, default=8192)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--alias", default="")
    parser.add_argument(
        "--parent",
        type=int,
        default=os.getppid(),
        help="the arena's pid (default: our parent's now)",
    )
    args = parser.parse_args()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx_size
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    if args.alias:
        params.model_alias = args.alias
    _server = xllamacpp.Server(params)  # serves on its own threads until we exit
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # The arena's pid comes from the arena itself: one that died while the model was
    # loading (seconds) is noticed at the first check, not taken for the parent.
    while os.getppid() == args.parent and not stop.wait(1.0):
        pass
    # Exit without the server's destructor: it stops llama.cpp's main loop and joins
    # it, and a stop that comes before that loop has begun (the constructor returns
    # just before; on a busy machine, often) is lost, so the join waited forever and
    # the worker outlived its arena. The system frees what the server holds.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
