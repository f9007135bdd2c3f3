"""The registry of backend kinds (arena/kinds.py): each entry names a real class, and
the docs describe every kind it holds."""

from __future__ import annotations

import importlib
import re

import pytest

from arena.backends import Backend, create_backend
from arena.config import ArenaSettings, ModelSpec
from arena.config.settings import ModelSpec as Spec
from arena.kinds import HOSTED, KINDS
from tests.conftest import ROOT

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_names_a_backend_that_follows_its_entry(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY_FOR_TEST", "k")
    kind = KINDS[name]
    module, _, attr = kind.backend.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    assert issubclass(cls, Backend)
    spec = ModelSpec(
        name="m",
        kind=name,
        base_url="http://127.0.0.1:9/v1",
        api_key_env="KEY_FOR_TEST" if name in HOSTED else "",
        path="x.gguf",
    )
    backend = create_backend(spec, ArenaSettings())
    assert type(backend) is cls
    assert backend.runs_server == kind.runs_server
    assert backend.rules is kind.params


def test_every_kind_is_documented_and_the_kind_key_lists_them_all() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    for name in KINDS:
        assert re.search(rf"^- `{name}`: ", docs, re.MULTILINE), f"kind {name} is not in the docs"
    help_line = Spec.help()["kind"]
    assert all(f"{name} (" in help_line for name in KINDS)


def test_keys_of_a_providers_endpoint_apply_to_the_hosted_kinds() -> None:
    from dataclasses import fields

    kinds = {f.name: f.metadata["kinds"] for f in fields(Spec)}
    assert kinds["base_url"] == kinds["api_key_env"] == HOSTED == ("openai", "anthropic", "gemini")
