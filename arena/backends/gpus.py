"""Which GPUs each ``vllm`` model runs on.

A model that names its own ``gpus`` keeps them; the others get ``tensor_parallel``
GPUs each, in configuration order, from the arena's ``gpus`` setting (or every GPU
``nvidia-smi`` lists). Two models never share a GPU unless the configuration says so.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from arena.config import ModelSpec
from arena.errors import ConfigError
from arena.kinds import kind_of

__all__ = ["assign_gpus", "visible_gpus"]


def visible_gpus() -> list[str]:
    """The indices ``nvidia-smi -L`` lists; empty without NVIDIA's driver."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def _parse(gpus: str) -> list[str]:
    return [g.strip() for g in gpus.split(",") if g.strip()]


def assign_gpus(models: Sequence[ModelSpec], gpus: str = "") -> dict[str, str]:
    """``CUDA_VISIBLE_DEVICES`` for every vllm model, e.g. ``{"llama": "0,1"}``.

    Raises:
        ConfigError: a model's tensor_parallel does not match its own gpus, or the free
            GPUs run out (the message names the model and what is left).
    """
    vllm = [m for m in models if kind_of(m.kind).takes_gpus]
    if not vllm:
        return {}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for spec in vllm:
        if spec.tensor_parallel < 1:
            raise ConfigError(f"model {spec.name!r}: tensor_parallel must be at least 1")
        if spec.gpus:
            own = _parse(spec.gpus)
            if len(own) != spec.tensor_parallel:
                raise ConfigError(
                    f"model {spec.name!r} names {len(own)} GPUs ({spec.gpus}) but "
                    f"tensor_parallel = {spec.tensor_parallel}; they must match"
                )
            out[spec.name] = ",".join(own)
            taken.update(own)
    pending = [m for m in vllm if not m.gpus]
    if not pending:
        return out
    free = [g for g in (_parse(gpus) or visible_gpus()) if g not in taken]
    for spec in pending:
        if len(free) < spec.tensor_parallel:
            raise ConfigError(
                f"model {spec.name!r} needs {spec.tensor_parallel} GPU(s) but only "
                f"{len(free)} are free ({', '.join(free) or 'none found'}); set gpus for "
                "the arena or the model, or lower tensor_parallel"
            )
        out[spec.name] = ",".join(free[: spec.tensor_parallel])
        free = free[spec.tensor_parallel :]
    return out
