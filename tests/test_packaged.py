"""Model files shipped as PyPI packages: checked before the arena serves them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from arena.backends.packaged import resolve_packaged, verify_file
from arena.errors import PrerequisiteError

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)


def test_a_packaged_file_used_in_place_is_checked_against_its_sha256(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"weights" * 1000)
    good = hashlib.sha256(model.read_bytes()).hexdigest()
    verify_file(model, good, tmp_path / "stamps")  # checked, and stamped
    assert (tmp_path / "stamps" / "model.gguf.verified").is_file()
    model.write_bytes(b"tampered" * 1000)  # changed after the check: checked again
    with pytest.raises(PrerequisiteError, match=f"expected {good}"):
        verify_file(model, good, tmp_path / "stamps")
    # The real packaged SmolLM2 file matches what the arena declares.
    resolve_packaged("smollm2-135m-instruct", tmp_path / "cache")
    assert list((tmp_path / "cache").glob("*.verified"))
