"""The library's settings: unsafe values refused with the variable's name. (The front ends'
settings, and the documentation of every variable: tests/service/test_settings.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.config import load_settings, split_chroma_url
from qa.errors import ConfigError


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"top_k": 0}, "QA_TOP_K"),
        ({"top_k": 10_000}, "QA_TOP_K"),
        ({"embed_threads": -1}, "QA_EMBED_THREADS"),
        ({"embed_threads": 65}, "QA_EMBED_THREADS"),
        ({"embed_url": "ftp://example"}, "QA_EMBED_URL"),
        ({"collection_prefix": "bad prefix!"}, "QA_COLLECTION_PREFIX"),
        ({"answer_min_score": 1.5}, "QA_ANSWER_MIN_SCORE"),
        ({"llm_base_url": "ftp://example", "llm_model": "m"}, "QA_LLM_BASE_URL"),
        ({"llm_timeout_s": 0}, "QA_LLM_TIMEOUT_S"),
        ({"llm_max_retries": -1}, "QA_LLM_MAX_RETRIES"),
        ({"llm_retry_backoff_s": -0.5}, "QA_LLM_RETRY_BACKOFF_S"),
        ({"llm_max_tokens": 0}, "QA_LLM_MAX_TOKENS"),
        ({"llm_temperature": 3}, "QA_LLM_TEMPERATURE"),
        ({"llm_min_support": 1.5}, "QA_LLM_MIN_SUPPORT"),
        ({"llm_fallback": "maybe"}, "QA_LLM_FALLBACK"),
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


def test_no_llm_unless_a_url_is_configured() -> None:
    settings = load_settings(_env_file=None)
    assert not settings.llm_configured
    assert settings.llm_base_url == ""


def test_llm_url_needs_a_model() -> None:
    with pytest.raises(ConfigError, match="QA_LLM_MODEL"):
        load_settings(_env_file=None, llm_base_url="http://127.0.0.1:8080/v1")
    settings = load_settings(_env_file=None, llm_base_url="http://h:1/v1/", llm_model="m")
    assert settings.llm_configured and settings.llm_base_url == "http://h:1/v1"


def test_llm_key_falls_back_to_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai")
    assert load_settings(_env_file=None).llm_api_key.get_secret_value() == "sk-from-openai"
    monkeypatch.setenv("QA_LLM_API_KEY", "sk-from-qa")
    assert load_settings(_env_file=None).llm_api_key.get_secret_value() == "sk-from-qa"
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("QA_LLM_API_KEY")
    assert load_settings(_env_file=None).llm_api_key.get_secret_value() == ""


def test_llm_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("QA_LLM_MODEL", "smollm2")
    monkeypatch.setenv("QA_LLM_TIMEOUT_S", "2.5")
    monkeypatch.setenv("QA_LLM_FALLBACK", "error")
    settings = load_settings(_env_file=None)
    assert (settings.llm_model, settings.llm_timeout_s, settings.llm_fallback) == (
        "smollm2",
        2.5,
        "error",
    )


_HOSTS = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}\Z"),
    st.ip_addresses(v=4).map(str),
)


@given(host=_HOSTS, port=st.integers(1, 65_535), scheme=st.sampled_from(["http", "https"]))
def test_chroma_url_accepts_any_host_and_port(host: str, port: int, scheme: str) -> None:
    url = f"{scheme}://{host}:{port}"
    settings = load_settings(_env_file=None, chroma_url=url + "/")
    assert settings.chroma_url == url
    assert split_chroma_url(settings.chroma_url) == (host, port, scheme == "https")


@given(
    host=_HOSTS,
    bad=st.sampled_from(
        [
            "ftp://{h}:8000",
            "{h}:8000",
            "http://{h}",
            "http://{h}:0",
            "http://{h}:70000",
            "http://{h}:port",
            "http://user:secret@{h}:8000",
            "http://{h}:8000/api",
            "http://{h}:8000?tenant=x",
            "http://{h}:8000#x",
            "http:// {h}:8000",
        ]
    ),
)
def test_chroma_url_refuses_anything_but_scheme_host_and_port(host: str, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, chroma_url=bad.format(h=host))
    assert "QA_CHROMA_URL" in caught.value.message
    assert "http://host:port" in caught.value.message


def test_no_chroma_url_means_the_embedded_folder() -> None:
    assert load_settings(_env_file=None).chroma_url == ""


def test_empty_reader_settings_mean_the_defaults(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("QA_ANSWER_MIN_SCORE=\nQA_READER_MODEL=\n", encoding="utf-8")
    settings = load_settings(_env_file=env)
    assert settings.answer_min_score is None and settings.reader_model is None
