"""What can be configured: the ``[arena]`` settings and the ``[[models]]`` keys, each
with its type (its annotation), default and help line, and for a model key the kinds it
applies to; the model kinds; the embedded default models; the :class:`Config` they
make up."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from arena.errors import ConfigError
from arena.kinds import HOSTED, KINDS

__all__ = ["DEFAULT_MODELS", "ArenaSettings", "Config", "ModelSpec"]


def _setting(default: Any, help: str, *, kinds: tuple[str, ...] | None = None) -> Any:
    """A setting: its default, its help line (the docs keep in step), and for a model key
    the kinds it applies to (None: every kind). Its type is its annotation."""
    return field(default=default, metadata={"help": help, "kinds": kinds})


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
    trusted_proxies: str = _setting(
        "127.0.0.1,::1",
        "Reverse proxies whose X-Forwarded-For header names the voter's address "
        "(comma-separated addresses or networks; empty: none). The per-address limits "
        "count by that address: behind a proxy on another machine, name it here, or "
        "every voter is counted as the proxy. * trusts whatever connects, and takes only "
        "the last X-Forwarded-For entry (the address the nearest proxy saw): right only "
        "where nothing but your proxy can reach the arena. Needs a restart.",
    )
    allowed_origins: str = _setting(
        "",
        "Origins besides the arena's own address whose pages may post to it "
        "(comma-separated, e.g. https://arena.example.org), for a proxy that rewrites the "
        "Host header. A prompt, vote or stop from any other web site is refused (403), "
        "and no other site may read the arena's answers with a voter's cookies.",
    )
    max_body_bytes: int = _setting(
        1048576,
        "Largest request body accepted, in bytes; a larger one is refused (413) before "
        "it is read. A prompt of max_prompt_chars takes at most 12 bytes a character as "
        "JSON: raise this with it (0: no limit).",
    )
    max_header_bytes: int = _setting(
        65536,
        "Largest request line and headers accepted, in bytes; larger ones are refused "
        "(431) while they arrive. Needs a restart.",
    )
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
        150,
        "Most turns this process streams at once (each is two answers); past it a new "
        "battle waits in line and is told its place (0: no limit). Measured with "
        "bench/load.py: set it where the p95 delay stays acceptable on your machine.",
    )
    max_wait_s: float = _setting(
        60.0,
        "Longest a new battle waits in line for a free place before it is refused with "
        "a polite 'the arena is full, try again in a minute'.",
    )
    max_live_turns_per_browser: int = _setting(
        4,
        "Most turns one browser may have waiting or streaming at once (battles, "
        "side-by-side and direct chats together); one more is refused with a message "
        "(0: no limit).",
    )
    max_live_turns_per_address: int = _setting(
        30,
        "Most turns one IP address may have waiting or streaming at once, in this "
        "process (offices share addresses: keep it well above one voter's); one more is "
        "refused with a message (0: no limit).",
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
    detect_languages: bool = _setting(
        True,
        "Detect the language of each battle's first prompt (Lingua, 30 languages; about "
        "550 MB and 3-5 s to load, before the server takes its first request) for the "
        "language categories and the public release.",
    )
    release_licence: str = _setting(
        "CC-BY-4.0",
        "The licence the public release (export --public) gives the prompts and answers.",
    )
    share_battles: bool = _setting(
        True,
        "After the vote, a battle can be shared: a read-only page at /share/ID with both "
        "answers and both names (never before the vote; off: no such page).",
    )
    tags: dict[str, str] = _setting(
        None,
        "Organizer tags, a table of name = regular expression (case-insensitive): a battle "
        "whose first prompt matches gets the tag, and the board a tag:NAME category.",
    )
    inverse_pair_weights: bool = _setting(
        False,
        "Weight each battle on the board by 1 / (battles of its pair), so every pair of "
        "models that met counts alike however often it was drawn (LMArena's 2025 change; "
        "stated in the manifest).",
    )
    exclude_campaigns: bool = _setting(
        False,
        "Leave out of the board the votes of browsers and addresses whose votes lift one "
        "model over its neighbours far beyond what the ratings predict (a suspected "
        "rigging campaign: docs/ratings.md); stated in the manifest with the votes left "
        "out. run_arena.py voters and /admin list them either way.",
    )
    campaign_alpha: float = _setting(
        0.01,
        "The campaign screen's family-wise level: the chance that any honest browser or "
        "address at all is flagged (Bonferroni over every one and every model).",
    )
    provisional_votes: int = _setting(
        100,
        "A model with fewer votes than this is marked provisional on the board, in the API "
        "and in exports (0: never by votes).",
    )
    provisional_width: float = _setting(
        100.0,
        "A model whose 95% interval is wider than this many rating points is marked "
        "provisional (0: never by width).",
    )
    monitor_every_h: float = _setting(
        24.0,
        "Hours between checks of the battle answers of each model that names an "
        "audit_reference against that reference's answers to the same prompts (0: never). "
        "One arena process of several runs each check.",
    )
    monitor_answers: int = _setting(
        40, "Battle answers a check uses (the latest; it waits until there are this many)."
    )
    monitor_samples: int = _setting(
        8, "Answers the reference is asked for per battle prompt in a check."
    )
    monitor_alpha: float = _setting(
        0.001,
        "False-positive rate of each check (checks repeat: 0.001 daily is about one false "
        "flag in three years for an honest model).",
    )
    leaderboard_refresh_s: float = _setting(
        60.0,
        "Seconds between leaderboard refreshes on the page while it is open; also the "
        "longest a board is kept without a new fit, even with nothing new to fit "
        "(boards are fitted once per deployment: docs/deploy.md).",
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
    votes_per_day: int = _setting(300, "Most votes one browser may cast in 24 hours (0: no limit).")
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
    proof_alert_share: float = _setting(
        0.5,
        "Log a warning when at least this share of the last hour's votes was flagged "
        "'no proof of work' (a broken challenge flags every vote; 0: never); the admin "
        "view shows the share.",
    )
    proof_alert_votes: int = _setting(
        20, "Fewest votes in the last hour for proof_alert_share to apply."
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", {str(k): str(v) for k, v in (self.tags or {}).items()})


@dataclass(frozen=True)
class ModelSpec:
    """One ``[[models]]`` entry."""

    name: str = _setting("", "Name shown to voters after they vote; unique.")
    kind: str = _setting(
        "", "Backend kind: " + "; ".join(f"{k.name} ({k.about})" for k in KINDS.values()) + "."
    )
    model: str = _setting(
        "",
        "openai, anthropic, gemini: the model id the endpoint expects; vllm: the model to "
        "serve (a Hugging Face id or a local folder). Defaults to name.",
        kinds=(*HOSTED, "vllm"),
    )
    base_url: str = _setting(
        "",
        "openai: the endpoint, e.g. http://gpu-host:8000/v1 (required); anthropic, "
        "gemini: another endpoint than the provider's own (optional).",
        kinds=HOSTED,
    )
    api_key_env: str = _setting(
        "",
        "openai, anthropic, gemini: name of the environment variable holding the key "
        "(anthropic defaults to ANTHROPIC_API_KEY, gemini to GEMINI_API_KEY).",
        kinds=HOSTED,
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
    url: str = _setting("", "A link to the model's page (shown on the board and after the vote).")
    price_in: float = _setting(
        0.0, "USD per million input tokens, shown on the board and after the vote (0: unknown)."
    )
    price_out: float = _setting(
        0.0, "USD per million output tokens, shown on the board and after the vote (0: unknown)."
    )
    knowledge_cutoff: str = _setting(
        "", "The model's knowledge cutoff, e.g. 2024-06 (shown on the board)."
    )
    retired: bool = _setting(
        False,
        "Out of the draw and the pickers (its server is not started), kept on the board "
        "(marked retired; the board can hide retired models).",
    )
    audit_reference: str = _setting(
        "",
        "A configured model serving the weights this one claims (a local or vllm model, or "
        "an endpoint you trust): its battle answers are checked against that model's "
        "answers every monitor_every_h hours, and models audit uses it by default.",
    )
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

    def board(self) -> dict[str, Any]:
        """What the leaderboard shows beside the rating (the rows' metadata)."""
        return {
            "organization": self.organization,
            "license": self.license,
            "url": self.url,
            "price_in": self.price_in or None,
            "price_out": self.price_out or None,
            "knowledge_cutoff": self.knowledge_cutoff,
            "retired": self.retired,
        }

    def public(self) -> dict[str, Any]:
        """What anyone may see about the model (after a vote, on the board)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "organization": self.organization,
            "license": self.license,
            "url": self.url,
            "price_in": self.price_in or None,
            "price_out": self.price_out or None,
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
        """Models a voter may pick by name (all but the anonymous-only and retired ones)."""
        return [m.name for m in self.models if not m.anonymous_only and not m.retired]
