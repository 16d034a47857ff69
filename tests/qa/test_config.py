"""Settings: every variable documented, unsafe values refused with the variable's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.config import Settings, load_settings
from qa.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^(QA_[A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    expected = {f"QA_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_readme_table_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`QA_{name.upper()}`" in readme, name


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"top_k": 0}, "QA_TOP_K"),
        ({"top_k": 10_000}, "QA_TOP_K"),
        ({"embed_threads": 0}, "QA_EMBED_THREADS"),
        ({"embed_url": "ftp://example"}, "QA_EMBED_URL"),
        ({"collection_prefix": "bad prefix!"}, "QA_COLLECTION_PREFIX"),
        ({"answer_min_score": 1.5}, "QA_ANSWER_MIN_SCORE"),
    ],
)
def test_unsafe_values_are_refused_naming_the_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **overrides)
    assert variable in caught.value.message
    assert ".env.example" in caught.value.hint


def test_openai_backend_needs_url_and_model() -> None:
    with pytest.raises(ConfigError, match="QA_EMBED_URL"):
        load_settings(_env_file=None, embed_backend="openai")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_TOP_K", "7")
    monkeypatch.setenv("QA_CORPUS_DIR", "/somewhere")
    settings = load_settings(_env_file=None)
    assert settings.top_k == 7
    assert settings.corpus_dir == Path("/somewhere")
