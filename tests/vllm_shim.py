"""Stands in for the ``vllm`` executable in tests (this machine has no GPU and no vLLM).

It parses ``vllm serve`` strictly, accepting only flags vLLM documents (so a typo in
the arena's command line fails here), prints what it was given, then serves the GGUF
file named as the model with the real llama.cpp server. Everything the arena does
around it (ports, CUDA_VISIBLE_DEVICES, /health, restarts, logs, stopping) is the
real code path of the ``vllm`` kind.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

# `vllm serve` options as vLLM documents them (https://docs.vllm.ai/en/latest/cli/serve/,
# EngineArgs.add_cli_args and the OpenAI server's frontend arguments): name -> takes a value.
DOCUMENTED = {
    "--host": True,
    "--port": True,
    "--served-model-name": True,
    "--tensor-parallel-size": True,
    "--pipeline-parallel-size": True,
    "--gpu-memory-utilization": True,
    "--max-model-len": True,
    "--dtype": True,
    "--quantization": True,
    "--kv-cache-dtype": True,
    "--max-num-seqs": True,
    "--enforce-eager": False,
    "--trust-remote-code": False,
    "--api-key": True,
    "--download-dir": True,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="vllm")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("model")
    for flag, takes_value in DOCUMENTED.items():
        if takes_value:
            serve.add_argument(flag)
        else:
            serve.add_argument(flag, action="store_true")
    args = parser.parse_args()
    print(f"vllm-shim: CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}")
    print(f"vllm-shim: argv={sys.argv[1:]}", flush=True)
    # Like vLLM's engine workers: a child in the server's process group, and one that
    # ignores SIGTERM (only the whole group's SIGKILL ends it).
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
        ]
    )
    print(f"vllm-shim: worker pid={worker.pid}", flush=True)
    sys.argv = [
        "llama_worker",
        "--model",
        args.model,
        "--host",
        args.host,
        "--port",
        args.port,
        "--threads",
        "1",
        "--ctx-size",
        args.max_model_len or "2048",
        "--parallel",
        "2",
        "--alias",
        args.served_model_name,
    ]
    from arena.backends.llama_worker import main as serve_gguf

    serve_gguf()


if __name__ == "__main__":
    main()
