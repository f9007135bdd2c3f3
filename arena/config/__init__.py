"""Configuration: one typed settings object, the models, and where each value came from.

Sources, later ones winning: the embedded defaults, ``arena.toml`` (its ``[arena]``
table and ``[[models]]`` list), ``ARENA_<SETTING>`` environment variables, then
command-line flags. API keys are never configuration values: a model names the
environment variable that holds its key (``api_key_env``).

Every setting has a help line; ``docs/configuration.md`` documents each one and a
test keeps the two in step.
"""

from arena.config.load import load_config
from arena.config.settings import DEFAULT_MODELS, ArenaSettings, Config, ModelSpec

__all__ = ["DEFAULT_MODELS", "ArenaSettings", "Config", "ModelSpec", "load_config"]
