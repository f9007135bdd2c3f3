"""Reading the configuration: ``arena.toml`` (every key checked against its type and,
for a model, its kind; mistakes name the file and line), ``ARENA_<SETTING>`` variables,
then command-line overrides. Every ``[arena]`` value, whatever its source, is judged by
:func:`arena.config.values.problem`, and refused in the same words with its source
named in front."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from arena.config.settings import DEFAULT_MODELS, ArenaSettings, Config, ModelSpec
from arena.config.values import QUOTED_CHARS, from_text, problem, type_of, type_problem
from arena.errors import ConfigError, excerpt
from arena.kinds import KINDS, kind_of

__all__ = ["load_config"]


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
    settings = _apply_overrides(settings, overrides or {})
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
        problems = kind_of(spec.kind).params.problems(spec.params)
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
    for i, spec in enumerate(models):
        if spec.audit_reference and (
            spec.audit_reference not in seen or spec.audit_reference == spec.name
        ):
            raise ConfigError(
                f"{path}, line {_line_of(text, 'audit_reference', i)}: audit_reference of "
                f"{spec.name!r} is {spec.audit_reference!r}; it must name another configured "
                f"model ({', '.join(sorted(seen - {spec.name}))})"
            )
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
        if cls is ArenaSettings:
            wrong = problem(key, value)
        else:
            wrong = type_problem(type_of(cls, key), value)
        if wrong:
            raise ConfigError(
                f"{path}, line {line}: {key} = {excerpt(value, QUOTED_CHARS)} in {where} {wrong}"
            )
    return cls(**raw)


def _line_of(text: str, key: str, occurrence: int = 0) -> int:
    """Line of ``key = ...`` (or a table header) in the ``occurrence``-th models entry."""
    lines = text.splitlines()
    pattern = re.compile(
        rf"^\s*(\[\[models\]\]|{re.escape(key)}\s*=|\[(arena\.)?{re.escape(key)}\])"
    )
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


def _apply_env(settings: ArenaSettings, env: Mapping[str, str]) -> ArenaSettings:
    """``settings`` with each ``ARENA_<SETTING>`` variable of ``env`` applied, read as
    its setting's type and judged as the file's value would be."""
    changes: dict[str, Any] = {}
    for f in fields(ArenaSettings):
        name = f"ARENA_{f.name.upper()}"
        if name not in env:
            continue
        raw = env[name]
        value = from_text(f.name, raw)
        wrong = problem(f.name, value)
        if wrong:
            raise ConfigError(f"environment variable {name}={excerpt(raw, QUOTED_CHARS)} {wrong}")
        changes[f.name] = value
    return replace(settings, **changes)


def _apply_overrides(settings: ArenaSettings, overrides: Mapping[str, Any]) -> ArenaSettings:
    """``settings`` with the command-line values applied (``None``: not given), judged
    as the file's value would be."""
    changes = {k: v for k, v in overrides.items() if v is not None}
    for key, value in changes.items():
        wrong = problem(key, value)
        if wrong:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"command-line {flag} {excerpt(value, QUOTED_CHARS)} {wrong}")
    return replace(settings, **changes)
