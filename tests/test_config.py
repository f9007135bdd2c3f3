"""Configuration: the file, the environment, the errors, and the docs kept in step."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from arena.backends import create_backend
from arena.config import ArenaSettings, ModelSpec, load_config
from arena.errors import ConfigError
from tests.conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arena.toml"
    path.write_text(text)
    return path


def test_embedded_defaults_are_two_local_models(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no arena.toml here
    config = load_config(env={})
    assert config.source == "embedded defaults"
    assert [m.kind for m in config.models] == ["local", "local"]
    assert config.settings.db == "sqlite:///arena.db"
    assert (config.settings.host, config.settings.port) == ("127.0.0.1", 7860)


def test_the_example_file_in_the_repo_loads_and_matches_the_defaults() -> None:
    config = load_config(ROOT / "arena.toml", env={})
    assert config.settings == ArenaSettings()
    assert [m.name for m in config.models] == [
        "SmolLM2-135M-Instruct",
        "Qwen2.5-Coder-0.5B-Instruct",
    ]


def test_environment_overrides_the_file_and_flags_override_both(
    tmp_path: Path, config_file: Path
) -> None:
    env = {"ARENA_PORT": "9000", "ARENA_DB": "sqlite:///other.db"}
    config = load_config(config_file, env=env, overrides={"db": "sqlite:///flag.db", "host": None})
    assert config.settings.port == 9000
    assert config.settings.db == "sqlite:///flag.db"
    assert config.settings.max_turns == 3  # from the file


def test_a_bad_environment_value_names_the_variable(config_file: Path) -> None:
    with pytest.raises(ConfigError, match="ARENA_PORT='many' should be an integer"):
        load_config(config_file, env={"ARENA_PORT": "many"})


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[arena]\nport = 7860\nhost = \n")
    with pytest.raises(ConfigError, match=r"arena\.toml: .*line 3"):
        load_config(path, env={})


def test_an_unknown_key_names_the_file_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[models]]\nname = "a"\nkind = "local"\n\n[[models]]\nname = "b"\n'
        'kind = "local"\ntemprature = 0.5\n',
    )
    with pytest.raises(ConfigError, match=r"arena\.toml, line 8: unknown key 'temprature'"):
        load_config(path, env={})


def test_a_wrongly_typed_value_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[arena]\nport = "eighty"\n')
    with pytest.raises(ConfigError, match=r"line 2: port = 'eighty' in \[arena\] should be an"):
        load_config(path, env={})


def test_an_unknown_model_kind_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[[models]]\nname = "a"\nkind = "telepathy"\n')
    with pytest.raises(ConfigError, match="unknown model kind 'telepathy'.*local, openai"):
        load_config(path, env={})


def test_a_missing_api_key_variable_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ARENA_TEST_MISSING_KEY", raising=False)
    spec = ModelSpec(
        name="gpt",
        kind="openai",
        base_url="http://127.0.0.1:9/v1",
        api_key_env="ARENA_TEST_MISSING_KEY",
    )
    with pytest.raises(ConfigError, match="ARENA_TEST_MISSING_KEY, which is not set"):
        create_backend(spec, ArenaSettings())


def test_duplicate_model_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[models]]\nname = "a"\nkind = "local"\n\n[[models]]\nname = "a"\nkind = "local"\n',
    )
    with pytest.raises(ConfigError, match="line 6: model name 'a' is used twice"):
        load_config(path, env={})


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    for name in ArenaSettings.help():
        assert re.search(rf"`{name}`", docs), f"[arena] setting {name} is not in the docs"
        assert f"ARENA_{name.upper()}" in docs
    for name in ModelSpec.help():
        assert re.search(rf"`{name}`", docs), f"model key {name} is not in the docs"


def test_the_configuration_does_not_import_the_backends() -> None:
    """config <- backends, never both ways: a kind is a name and a class path here."""
    import subprocess
    import sys

    code = "import sys, arena.config; print(sorted(m for m in sys.modules if 'backends' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "local"\ntensor_parallel = 2', "line 5: tensor_parallel applies to vllm models"),
        ('kind = "openai"\nbase_url = "http://x"\nthreads = 2', "line 6: threads applies to local"),
        ('kind = "local"\nbase_url = "http://x"', "base_url applies to openai and anthropic and"),
        ('kind = "gemini"\nextra_body = { a = 1 }', "extra_body applies to openai and anthropic"),
    ],
)
def test_a_key_of_another_kind_is_named_with_the_kinds_it_applies_to(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = write(tmp_path, f'[arena]\n[[models]]\nname = "m"\n{entry}\n')
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path, env={})
    assert "not to 'm'" in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("params = 3", "params = 3 .* should be a table"),
        ('targets = "b"', "targets = 'b' .* should be a list"),
        ('weight = "heavy"', "weight = 'heavy' .* should be a number"),
        ("anonymous_only = 1", "anonymous_only = 1 .* should be true or false"),
    ],
)
def test_each_key_is_checked_against_its_declared_type(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = write(tmp_path, f'[[models]]\nname = "m"\nkind = "local"\n{entry}\n')
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_environment_values_are_read_as_their_settings_type(tmp_path: Path) -> None:
    settings = load_config(env={"ARENA_MAX_WAIT_S": "2.5", "ARENA_PORT": "8080"}).settings
    assert settings.max_wait_s == 2.5 and settings.port == 8080
    with pytest.raises(ConfigError, match="ARENA_PORT='eighty' should be an integer"):
        load_config(env={"ARENA_PORT": "eighty"})


# -- one judge of every [arena] value, whatever its source ---------------------------

MODELS = '[[models]]\nname = "m"\nkind = "local"\npackage = "smollm2-135m-instruct"\n'

# A bad value of each setting, as the file writes it and as a variable does, and the
# words both are refused in. Settings that take any text are in FREE_TEXT.
BAD = {
    "db": ('""', "", "should not be empty"),
    "host": ('" "', " ", "should not be empty"),
    "port": ("0", "0", "should be between 1 and 65535"),
    "max_body_bytes": ("-1", "-1", "should be 0 or more"),
    "max_header_bytes": ("100", "100", "should be 1024 or more"),
    "max_prompt_chars": ("0", "0", "should be 1 or more"),
    "max_turns": ("0", "0", "should be 1 or more"),
    "sampling": ('"random"', "random", "should be uniform, weighted, targets or active"),
    "target_boost": ("0", "0", "should be more than 0"),
    "update_interval_s": ("-0.5", "-0.5", "should be 0 or more"),
    "max_live_turns": ("-1", "-1", "should be 0 or more"),
    "max_wait_s": ("nan", "nan", "should be a finite number"),
    "max_live_turns_per_browser": ("-1", "-1", "should be 0 or more"),
    "max_live_turns_per_address": ("-1", "-1", "should be 0 or more"),
    "new_model_votes": ('"many"', "many", "should be an integer"),
    "new_model_boost": ("0", "0", "should be more than 0"),
    "unhealthy_after": ("0", "0", "should be 1 or more"),
    "health_check_s": ("inf", "inf", "should be a finite number"),
    "reload_s": ("-1", "-1", "should be 0 or more"),
    "detect_languages": ('"maybe"', "maybe", "should be true or false"),
    "share_battles": ('"sometimes"', "sometimes", "should be true or false"),
    "tags": (
        '{ math = "integral(" }',
        '{ math = "integral(" }',
        "should hold regular expressions: tag 'math': 'integral(' is not a regular",
    ),
    "inverse_pair_weights": ("2", "2", "should be true or false"),
    "exclude_campaigns": ("2", "2", "should be true or false"),
    "campaign_alpha": ("1", "1", "should be strictly between 0 and 1"),
    "provisional_votes": ("-1", "-1", "should be 0 or more"),
    "provisional_width": ("-1", "-1", "should be 0 or more"),
    "monitor_every_h": ("-24", "-24", "should be 0 or more"),
    "monitor_answers": ("0", "0", "should be 1 or more"),
    "monitor_samples": ("0", "0", "should be 1 or more"),
    "monitor_alpha": ("1", "1", "should be strictly between 0 and 1"),
    "leaderboard_refresh_s": ("0", "0", "should be more than 0"),
    "prompts_per_minute": ("-1", "-1", "should be 0 or more"),
    "ip_prompts_per_minute": ("-1", "-1", "should be 0 or more"),
    "votes_per_day": ("-1", "-1", "should be 0 or more"),
    "ip_votes_per_day": ("-1", "-1", "should be 0 or more"),
    "proof_of_work": ('"yes"', "yes", "should be auto, on or off"),
    "proof_every": ("0", "0", "should be 1 or more"),
    "proof_work": ("10", "10", "should be 1000 or more"),
    "proof_alert_share": ("1.5", "1.5", "should be between 0 and 1"),
    "proof_alert_votes": ("-1", "-1", "should be 0 or more"),
    "db_retry_s": ("-1", "-1", "should be 0 or more"),
}
FREE_TEXT = {
    "trusted_proxies",
    "allowed_origins",
    "gpus",
    "release_licence",
    "log_dir",
    "model_cache",
    "secret",
    "secret_file",
    "moderation",
    "moderation_key_env",
    "title",
    "terms",
}


@pytest.mark.parametrize("name", [f.name for f in fields(ArenaSettings)])
def test_a_value_the_file_refuses_is_refused_from_the_environment_in_the_same_words(
    tmp_path: Path, name: str
) -> None:
    variable = f"ARENA_{name.upper()}"
    plain = tmp_path / "plain.toml"
    plain.write_text(f"[arena]\n{MODELS}")
    if name in FREE_TEXT:  # any text is a value: both sources take it alike
        path = write(tmp_path, f'[arena]\n{name} = "any text, ünï"\n{MODELS}')
        from_file = load_config(path, env={}).settings
        from_env = load_config(plain, env={variable: "any text, ünï"}).settings
        assert getattr(from_file, name) == getattr(from_env, name) == "any text, ünï"
        return
    assert name in BAD, f"setting {name} has no bad value in BAD: add one (or to FREE_TEXT)"
    literal, text, words = BAD[name]
    path = write(tmp_path, f"[arena]\n{name} = {literal}\n{MODELS}")
    with pytest.raises(ConfigError) as from_file:
        load_config(path, env={})
    with pytest.raises(ConfigError) as from_env:
        load_config(plain, env={variable: text})
    assert str(from_file.value).startswith(f"{path}, line 2: {name} = ")
    assert str(from_env.value).startswith(f"environment variable {variable}={text!r} ")
    said_by_file = str(from_file.value).split(" in [arena] ", 1)[1]
    said_by_env = str(from_env.value).removeprefix(f"environment variable {variable}={text!r} ")
    assert said_by_file == said_by_env and said_by_env.startswith(words)


def test_bot_protection_is_not_turned_off_by_a_variable_the_file_would_refuse(
    tmp_path: Path,
) -> None:
    from arena.integrity.proof import proof_enabled

    env = {"ARENA_HOST": "0.0.0.0", "ARENA_PROOF_OF_WORK": "yes"}
    with pytest.raises(ConfigError, match="ARENA_PROOF_OF_WORK='yes' should be auto, on or off"):
        load_config(env=env)
    assert proof_enabled(load_config(env={**env, "ARENA_PROOF_OF_WORK": "on"}).settings)


def test_a_table_setting_is_read_from_its_variable_as_a_toml_inline_table() -> None:
    env = {"ARENA_TAGS": '{math = "integral|derivative", travel = "trip"}'}
    tags = load_config(env=env).settings.tags
    assert tags == {"math": "integral|derivative", "travel": "trip"}


def test_command_line_values_are_judged_as_the_file_s_are(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="command-line --port 0 should be between 1 and 65535"):
        load_config(env={}, overrides={"port": 0})
    with pytest.raises(ConfigError, match="command-line --db '' should not be empty"):
        load_config(env={}, overrides={"db": ""})
    path = write(
        tmp_path, '[[models]]\nname = "m"\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    serve = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "serve",
            "--config",
            str(path),
            "--port",
            "70000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert serve.returncode == 2, serve.stderr
    assert "error: command-line --port 70000 should be between 1 and 65535" in serve.stderr
