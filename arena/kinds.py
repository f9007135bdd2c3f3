"""Every kind of model backend, registered once, with what it can do.

A new backend kind is one :class:`Kind` in :data:`KINDS` (and its class under
arena/backends/): the configuration checks a model's kind and keys against it, the
backend takes its sampling rules from it, ``run_arena.py models serve`` and the pool
read whether it runs a server of its own, shares the CPU or takes GPUs, and the turn
asks which message parts it reads (arena/content.py). tests/test_kinds.py checks each
entry against its class and against docs/configuration.md.

Nothing here imports a backend: a kind names its class as ``"module:Class"``, imported
only when a model of that kind is configured, so an optional SDK is needed only by
those who use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from arena.params import ANTHROPIC, GEMINI, OPENAI, ParamRules

__all__ = ["HOSTED", "KINDS", "Kind", "kind_of", "kinds_that"]


@dataclass(frozen=True)
class Kind:
    name: str
    backend: str  # "module:Class", the arena.backends.Backend that implements it
    about: str  # what a model of this kind is, for the docs and the ``kind`` key's help
    params: ParamRules  # the provider's sampling parameters
    hosted: bool = False  # a provider's endpoint, reached with a key (base_url, api_key_env)
    runs_server: bool = False  # the arena runs its server (models serve; restarted on change)
    shares_cpu: bool = False  # its threads default to the cores shared among such models
    takes_gpus: bool = False  # gets GPUs from the arena's ``gpus`` (two never share one)
    reads: frozenset[str] = frozenset({"text"})  # the message parts it accepts


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "openai",
            "arena.backends.openai_compat:OpenAIBackend",
            "any OpenAI-compatible endpoint",
            OPENAI,
            hosted=True,
        ),
        Kind(
            "anthropic",
            "arena.backends.anthropic:AnthropicBackend",
            "Claude models through Anthropic's Messages API",
            ANTHROPIC,
            hosted=True,
        ),
        Kind(
            "gemini",
            "arena.backends.gemini:GeminiBackend",
            "Gemini models through Google's API",
            GEMINI,
            hosted=True,
        ),
        Kind(
            "vllm",
            "arena.backends.vllm:VLLMBackend",
            "a vllm serve process the arena runs on local GPUs",
            OPENAI,
            runs_server=True,
            takes_gpus=True,
        ),
        Kind(
            "local",
            "arena.backends.local:LocalBackend",
            "a GGUF file the arena serves with llama.cpp",
            OPENAI,
            runs_server=True,
            shares_cpu=True,
        ),
    )
}


def kinds_that(flag: str) -> tuple[str, ...]:
    """The names of the kinds whose ``flag`` (a boolean field of :class:`Kind`) is set."""
    return tuple(name for name, kind in KINDS.items() if getattr(kind, flag))


HOSTED = kinds_that("hosted")  # the keys of a provider's endpoint apply to these


def kind_of(name: str) -> Kind:
    """The registered kind (the configuration has refused any other name)."""
    return KINDS[name]
