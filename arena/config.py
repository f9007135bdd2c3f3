"""Configuration: one typed settings object, the models, and where each value came from.

Sources, later ones winning: the embedded defaults, ``arena.toml`` (its ``[arena]``
table and ``[[models]]`` list), ``ARENA_<SETTING>`` environment variables, then
command-line flags. API keys are never configuration values: a model names the
environment variable that holds its key (``api_key_env``).

Every setting has a help line; ``docs/configuration.md`` documents each one and a
test keeps the two in step.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from arena.errors import ConfigError
from arena.params import rules_for

__all__ = ["DEFAULT_MODELS", "ArenaSettings", "Config", "ModelSpec", "load_config"]


# Each model kind and the class that implements it, imported only when a model of that
# kind is configured (arena.backends.create_backend), so an optional SDK is needed only
# by those who use it.
KINDS: dict[str, str] = {
    "openai": "arena.backends.openai_compat:OpenAIBackend",
    "anthropic": "arena.backends.anthropic:AnthropicBackend",
    "gemini": "arena.backends.gemini:GeminiBackend",
    "vllm": "arena.backends.vllm:VLLMBackend",
    "local": "arena.backends.local:LocalBackend",
}


def _setting(default: Any, help: str, *, kinds: tuple[str, ...] | None = None) -> Any:
    """A setting: its default, its help line (the docs keep in step), and for a model key
    the kinds it applies to (None: every kind). Its type is its annotation."""
    return field(default=default, metadata={"help": help, "kinds": kinds})


API = ("openai", "anthropic", "gemini")


@dataclass(frozen=True)
class ArenaSettings:
    """The ``[arena]`` table; each field is also the variable ``ARENA_<NAME>``."""

    db: str = _setting(
        "sqlite:///arena.db",
        "Database URL: a SQLite file (created on first start, WAL mode) or "
        "postgresql+psycopg://user@host/db ('.[postgres]'); tables are created and "
        "upgraded by the arena's migrations.",
    )
    host: str = _setting("127.0.0.1", "Address the web server binds to.")
    port: int = _setting(7860, "Port the web server listens on.")
    max_prompt_chars: int = _setting(
        12000, "Longest prompt accepted, in characters; longer ones are refused, never cut."
    )
    max_turns: int = _setting(8, "Most prompts a voter may send in one battle.")
    sampling: str = _setting(
        "uniform",
        "How battle pairs are drawn: uniform, weighted (per-model weight), targets (weight, "
        "and named rivals target_boost times as often) or active (pairs whose next vote "
        "shrinks the intervals most).",
    )
    target_boost: float = _setting(
        4.0, "targets sampling: how much more often a model meets one of its named rivals."
    )
    update_interval_s: float = _setting(
        0.1,
        "Shortest time between two screen updates of a streaming answer; text that "
        "arrives meanwhile is shown together. Lower is smoother, higher serves more "
        "voters at once (bench/load.py).",
    )
    max_live_turns: int = _setting(
        60,
        "Most turns this process streams at once (each is two answers); past it a new "
        "battle waits in line and is told its place (0: no limit). Measured with "
        "bench/load.py: set it where the p95 delay stays acceptable on your machine.",
    )
    max_wait_s: float = _setting(
        60.0,
        "Longest a new battle waits in line for a free place before it is refused with "
        "a polite 'the arena is full, try again in a minute'.",
    )
    new_model_votes: int = _setting(
        300, "A model with fewer votes than this counts as new and is drawn more often."
    )
    new_model_boost: float = _setting(
        3.0, "How much more often a pair with a new model is drawn (1: no boost)."
    )
    unhealthy_after: int = _setting(
        3, "A model whose answers fail this many times in a row leaves the battle draw."
    )
    health_check_s: float = _setting(
        30.0,
        "Seconds between probes of a model that left the draw; it returns at its first "
        "good answer.",
    )
    reload_s: float = _setting(
        2.0,
        "Seconds between checks of arena.toml for changes; models added, removed or changed "
        "there are applied without a restart (0: never).",
    )
    gpus: str = _setting(
        "",
        "vllm models: the GPUs they may use, e.g. 0,1,2,3 (empty: every GPU nvidia-smi "
        "lists). Each model gets tensor_parallel of them unless it names its own gpus.",
    )
    leaderboard_refresh_s: float = _setting(
        60.0, "Seconds between leaderboard refreshes on the page while it is open."
    )
    log_dir: str = _setting(
        "logs",
        "Folder for the logs of the model servers the arena runs (local and vllm "
        "models): NAME.log each, rotated at 10 MB with 3 older files kept; the admin "
        "view shows their ends.",
    )
    model_cache: str = _setting(
        "~/.cache/arena/models",
        "Folder where packaged model files that ship in parts are assembled.",
    )
    secret: str = _setting(
        "",
        "The key of the stored voter hashes and browser cookies (set it as the variable "
        "ARENA_SECRET, the same on every machine of a deployment); empty: the secret_file.",
    )
    secret_file: str = _setting(
        "",
        "File holding the secret when ARENA_SECRET is not set, made on first start (mode "
        "600); empty: beside a SQLite database (arena.db -> arena.secret), else "
        "arena.secret in the working directory. Never in the database.",
    )
    prompts_per_minute: int = _setting(
        20, "Most prompts one browser may send in a minute (0: no limit)."
    )
    ip_prompts_per_minute: int = _setting(
        60, "Most prompts one IP address may send in a minute (0: no limit)."
    )
    votes_per_day: int = _setting(
        300, "Most votes one browser may cast in 24 hours (0: no limit)."
    )
    ip_votes_per_day: int = _setting(
        1000, "Most votes one IP address may cast in 24 hours (0: no limit)."
    )
    proof_of_work: str = _setting(
        "auto",
        "Votes count only from browsers that solved a small proof-of-work challenge "
        "(ALTCHA, in the page's script): on, off, or auto (on when host is not this "
        "machine's loopback; behind a proxy on the same machine, set it on). Votes "
        "without one are stored but flagged and left out of the default board.",
    )
    proof_every: int = _setting(
        20, "How many votes one solved challenge covers; the page solves the next itself."
    )
    proof_work: int = _setting(
        200000,
        "Most SHA-256 hashes a challenge takes to solve (half as many at least): about "
        "0.2 s in a browser at the default.",
    )
    moderation: str = _setting(
        "",
        "Check prompts before they are sent: empty (off), a word-list file (one word or "
        "phrase per line), or the URL of an OpenAI-compatible /v1/moderations endpoint.",
    )
    moderation_key_env: str = _setting(
        "", "Name of the environment variable holding the moderation endpoint's API key."
    )
    db_retry_s: float = _setting(
        5.0,
        "How long a vote keeps retrying while the database is locked or "
        "unreachable; after that the voter is told it was not stored.",
    )
    title: str = _setting("Arena", "Title shown on the page.")
    terms: str = _setting(
        "Answers come from AI models and may be wrong or offensive. Do not enter private or "
        "sensitive information. Your prompts, the answers and your votes are stored and may "
        "be published to help research.",
        "Terms of use a voter accepts once per browser before the first prompt; empty "
        "turns the terms off.",
    )

    @staticmethod
    def help() -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in fields(ArenaSettings)}


@dataclass(frozen=True)
class ModelSpec:
    """One ``[[models]]`` entry."""

    name: str = _setting("", "Name shown to voters after they vote; unique.")
    kind: str = _setting(
        "",
        "Backend kind: openai (any OpenAI-compatible endpoint), anthropic, gemini, vllm "
        "(a vllm serve process the arena runs on local GPUs) or local (a GGUF file the "
        "arena serves with llama.cpp).",
    )
    model: str = _setting(
        "",
        "openai, anthropic, gemini: the model id the endpoint expects; vllm: the model to "
        "serve (a Hugging Face id or a local folder). Defaults to name.",
        kinds=(*API, "vllm"),
    )
    base_url: str = _setting(
        "",
        "openai: the endpoint, e.g. http://gpu-host:8000/v1 (required); anthropic, "
        "gemini: another endpoint than the provider's own (optional).",
        kinds=API,
    )
    api_key_env: str = _setting(
        "",
        "openai, anthropic, gemini: name of the environment variable holding the key "
        "(anthropic defaults to ANTHROPIC_API_KEY, gemini to GEMINI_API_KEY).",
        kinds=API,
    )
    system_prompt: str = _setting(
        "", "A system prompt sent with every conversation, in the provider's own way."
    )
    anonymous_only: bool = _setting(
        False,
        "Only in anonymous battles: left out of Side-by-side, Direct chat, /api/models and "
        "the public board (for models not yet released).",
    )
    max_concurrent: int = _setting(
        0,
        "Most requests in flight to this model at once; more wait their turn (at most the "
        "first-token timeout), and the draw prefers models with a free slot (0: no limit). "
        "A model that is only busy never counts as failing.",
    )
    path: str = _setting("", "local: path to a GGUF file.", kinds=("local",))
    package: str = _setting(
        "",
        "local: a model packaged on PyPI: smollm2-135m-instruct or qwen2.5-coder-0.5b-instruct.",
        kinds=("local",),
    )
    organization: str = _setting("", "Who made the model (shown after the vote and on the board).")
    weight: float = _setting(
        1.0, "weighted/targets sampling: how often the model is drawn, relative to the others."
    )
    targets: list[str] = _setting(None, "targets sampling: models this one should meet most.")
    license: str = _setting("", "The model's licence (shown on the board).")
    aliases: list[str] = _setting(
        None,
        "Other names the model or its maker go by (e.g. Claude, Anthropic): an answer "
        "that calls itself so is an identity leak, and its vote is flagged.",
    )
    params: dict[str, Any] = _setting(
        None, "Sampling parameters sent with every request: temperature, top_p, max_tokens."
    )
    extra_body: dict[str, Any] = _setting(
        None,
        "openai, anthropic, vllm, local: extra JSON fields for the request body.",
        kinds=("openai", "anthropic", "vllm", "local"),
    )
    threads: int = _setting(
        0, "local: CPU threads (0: the cores shared among local models).", kinds=("local",)
    )
    ctx_size: int = _setting(
        8192, "local: context size in tokens, shared by parallel slots.", kinds=("local",)
    )
    parallel: int = _setting(4, "local: requests served at once.", kinds=("local",))
    gpus: str = _setting(
        "",
        "vllm: the GPUs to run on, e.g. 0,1 (empty: assigned from the arena's gpus).",
        kinds=("vllm",),
    )
    tensor_parallel: int = _setting(
        1, "vllm: GPUs the model is split over (tensor parallel).", kinds=("vllm",)
    )
    max_model_len: int = _setting(
        0, "vllm: longest context in tokens (0: the model's own).", kinds=("vllm",)
    )
    gpu_memory_utilization: float = _setting(
        0.9, "vllm: share of each GPU's memory vLLM may take (0 to 1).", kinds=("vllm",)
    )
    vllm_args: list[str] = _setting(
        None, 'vllm: further vllm serve arguments, e.g. ["--dtype", "bfloat16"].', kinds=("vllm",)
    )
    vllm_command: str = _setting(
        "vllm",
        "vllm: the vllm executable (a path when vLLM lives in its own environment).",
        kinds=("vllm",),
    )
    connect_timeout: float = _setting(10.0, "Seconds to connect before the answer fails.")
    first_token_timeout: float = _setting(
        30.0,
        "Seconds to the first token before it fails (a volunteer watches the seconds "
        "count; raise it for models that think before they answer).",
    )
    total_timeout: float = _setting(300.0, "Seconds for the whole answer before it fails.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params or {}))
        object.__setattr__(self, "targets", list(self.targets or []))
        object.__setattr__(self, "aliases", [str(a) for a in self.aliases or []])
        object.__setattr__(self, "extra_body", dict(self.extra_body or {}))
        object.__setattr__(self, "vllm_args", [str(a) for a in self.vllm_args or []])

    @staticmethod
    def help() -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in fields(ModelSpec)}

    def public(self) -> dict[str, str]:
        """What anyone may see about the model (after a vote, on the board)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "organization": self.organization,
            "license": self.license,
        }


DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="SmolLM2-135M-Instruct",
        kind="local",
        package="smollm2-135m-instruct",
        organization="Hugging Face",
        license="Apache-2.0",
        params={"temperature": 0.7, "top_p": 0.9, "max_tokens": 512},
    ),
    ModelSpec(
        name="Qwen2.5-Coder-0.5B-Instruct",
        kind="local",
        package="qwen2.5-coder-0.5b-instruct",
        organization="Alibaba Qwen",
        license="Apache-2.0",
        params={"temperature": 0.7, "top_p": 0.9, "max_tokens": 512},
    ),
)


@dataclass(frozen=True)
class Config:
    settings: ArenaSettings
    models: tuple[ModelSpec, ...]
    source: str  # the file read, or "embedded defaults"

    def model(self, name: str) -> ModelSpec:
        for spec in self.models:
            if spec.name == name:
                return spec
        raise ConfigError(f"no model named {name!r}; configured: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def public_names(self) -> list[str]:
        """Models a voter may pick by name (all but the anonymous-only ones)."""
        return [m.name for m in self.models if not m.anonymous_only]


def _field(cls: type, name: str) -> Any:
    return next(f for f in fields(cls) if f.name == name)


# The keys a [[models]] entry of each kind may hold.
_KEYS_OF_KIND = {
    kind: {f.name for f in fields(ModelSpec) if kind in (f.metadata["kinds"] or (kind,))}
    for kind in KINDS
}


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read ``arena.toml`` (or use the embedded defaults), then apply ``ARENA_*``
    variables and explicit overrides (command-line flags).

    Args:
        path: the file; ``None`` reads ``./arena.toml`` when it exists.
        env: environment to read ``ARENA_*`` from (``os.environ`` by default).
        overrides: setting name to value, applied last; ``None`` values are ignored.

    Raises:
        ConfigError: naming the file, the line and the key that is wrong.
    """
    env = os.environ if env is None else env
    if path is None and Path("arena.toml").is_file():
        path = "arena.toml"
    if path is None:
        settings, models, source = ArenaSettings(), DEFAULT_MODELS, "embedded defaults"
    else:
        settings, models = _read_file(Path(path))
        source = str(path)
    settings = _apply_env(settings, env)
    settings = replace(settings, **{k: v for k, v in (overrides or {}).items() if v is not None})
    return Config(settings, models, source)


def _read_file(path: Path) -> tuple[ArenaSettings, tuple[ModelSpec, ...]]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = set(data) - {"arena", "models"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"{path}, line {_line_of(text, key)}: unknown table or key {key!r}; "
            "expected [arena] and [[models]]"
        )
    settings = _build(ArenaSettings, data.get("arena", {}), path, text, "[arena]")
    if settings.proof_of_work not in ("auto", "on", "off"):
        raise ConfigError(
            f"{path}, line {_line_of(text, 'proof_of_work')}: proof_of_work = "
            f"{settings.proof_of_work!r}; expected auto, on or off"
        )
    raw_models = data.get("models", [])
    if not isinstance(raw_models, list) or not raw_models:
        raise ConfigError(f"{path}: no [[models]] entries; the arena needs at least two models")
    models = tuple(
        _build(ModelSpec, raw, path, text, f"[[models]] #{i + 1}", occurrence=i)
        for i, raw in enumerate(raw_models)
    )
    seen: set[str] = set()
    for i, spec in enumerate(models):
        if spec.kind not in KINDS:
            raise ConfigError(
                f"{path}, line {_line_of(text, 'kind', i)}: unknown model kind "
                f"{spec.kind!r} for model {spec.name!r}; expected one of "
                f"{', '.join(sorted(KINDS))}"
            )
        misplaced = [key for key in raw_models[i] if key not in _KEYS_OF_KIND[spec.kind]]
        if misplaced:
            key = misplaced[0]
            takes = " and ".join(_field(ModelSpec, key).metadata["kinds"])
            raise ConfigError(
                f"{path}, line {_line_of(text, key, i)}: {key} applies to {takes} models, "
                f"not to {spec.name!r} (kind {spec.kind})"
            )
        problems = rules_for(spec.kind).problems(spec.params)
        if problems:
            raise ConfigError(
                f"{path}, line {_line_of(text, 'name', i)}: params of model {spec.name!r}: "
                + "; ".join(problems)
            )
        if not spec.name:
            raise ConfigError(
                f"{path}, line {_line_of(text, '[[models]]', i)}: model without a name"
            )
        if spec.name in seen:
            raise ConfigError(
                f"{path}, line {_line_of(text, 'name', i)}: model name {spec.name!r} is used twice"
            )
        seen.add(spec.name)
    return settings, models


def _build(cls: type, raw: Any, path: Path, text: str, where: str, occurrence: int = 0) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where} must be a table")
    known = {f.name: f for f in fields(cls)}
    for key, value in raw.items():
        line = _line_of(text, key, occurrence)
        if key == "salt" and cls is ArenaSettings:
            raise ConfigError(
                f"{path}, line {line}: 'salt' is no longer a setting: voter hashes are keyed "
                "with a secret kept outside the database (ARENA_SECRET, or the secret_file "
                "made on first start); remove the line"
            )
        if key not in known:
            raise ConfigError(
                f"{path}, line {line}: unknown key {key!r} in {where}; "
                f"expected one of {', '.join(known)}"
            )
        expected = _type_of(cls, key)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(
                f"{path}, line {line}: {key} = {value!r} in {where} should be "
                f"{_type_name(expected)}"
            )
    return cls(**raw)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_of(cls: type, key: str) -> type | tuple[type, ...]:
    """What a TOML value of the setting ``key`` of ``cls`` must be, from its annotation
    (an integer is a number too)."""
    hint = _hints(cls)[key]
    origin = typing.get_origin(hint) or hint
    return (int, float) if origin is float else origin


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        dict: "a table",
        bool: "true or false",
        list: "a list",
    }
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, expected.__name__)


def _line_of(text: str, key: str, occurrence: int = 0) -> int:
    """Line of ``key = ...`` (or a table header) in the ``occurrence``-th models entry."""
    lines = text.splitlines()
    pattern = re.compile(rf"^\s*(\[\[models\]\]|{re.escape(key)}\s*=|\[{re.escape(key)}\])")
    header_seen = -1
    for number, line in enumerate(lines, start=1):
        if line.strip() == "[[models]]":
            header_seen += 1
            if key == "[[models]]" and header_seen == occurrence:
                return number
            continue
        if pattern.match(line) and (
            header_seen == occurrence or header_seen == -1 and occurrence == 0
        ):
            return number
    return 1


def _parse(raw: str, kind: type | tuple[type, ...]) -> Any:
    """An environment variable's text as the setting's type."""
    if kind is bool:
        truth = {"1": True, "true": True, "yes": True, "on": True}
        falsity = {"0": False, "false": False, "no": False, "off": False}
        value = {**truth, **falsity}.get(raw.strip().lower())
        if value is None:
            raise ValueError(raw)
        return value
    if isinstance(kind, tuple):
        return float(raw)
    return kind(raw)


def _apply_env(settings: ArenaSettings, env: Mapping[str, str]) -> ArenaSettings:
    changes: dict[str, Any] = {}
    for f in fields(ArenaSettings):
        name = f"ARENA_{f.name.upper()}"
        if name not in env:
            continue
        raw = env[name]
        kind = _type_of(ArenaSettings, f.name)
        try:
            changes[f.name] = _parse(raw, kind)
        except ValueError:
            raise ConfigError(
                f"environment variable {name}={raw!r} should be {_type_name(kind)}"
            ) from None
    return replace(settings, **changes)
