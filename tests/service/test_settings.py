"""The front ends' settings: every variable (the library's too) documented, the HTTP and Slack
variables refused with their names, and none of them owned or read by the library."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from qa.config import CoreSettings, LLMSettings, Settings
from qa.config import load_settings as load_library_settings
from qa.errors import ConfigError
from service.settings import HTTPSettings, ServiceSettings, SlackSettings, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting() -> None:
    text = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^((?:QA|SLACK)_[A-Z0-9_]+)=", text, re.M))
    expected = {ServiceSettings.env_name(name) for name in ServiceSettings.model_fields}
    assert documented == expected


def test_readme_table_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    for name in ServiceSettings.model_fields:
        assert f"`{ServiceSettings.env_name(name)}`" in readme, name


def test_each_group_owns_its_fields_and_the_service_has_them_all() -> None:
    groups = [CoreSettings, LLMSettings, HTTPSettings, SlackSettings]
    owned = [set(group.model_fields) for group in groups]
    assert sum(len(fields) for fields in owned) == len(set().union(*owned))  # no field twice
    assert set(Settings.model_fields) == owned[0] | owned[1]
    assert set(ServiceSettings.model_fields) == set().union(*owned)
    assert issubclass(ServiceSettings, Settings)  # what the front ends hand to the engine


def test_the_library_imports_no_front_end() -> None:
    for path in sorted((REPO / "qa").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "service" or n.startswith("service.") for n in names), path


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"port": 0}, "QA_PORT"),
        ({"workers": 65}, "QA_WORKERS"),
        ({"max_body_bytes": 10}, "QA_MAX_BODY_BYTES"),
        ({"log_level": "loud"}, "QA_LOG_LEVEL"),
        ({"cors_origins": "wiki.example.com"}, "QA_CORS_ORIGINS"),
        ({"api_key": "too-short"}, "QA_API_KEY"),
        ({"public_url": "wiki.example.com"}, "QA_PUBLIC_URL"),
        ({"slack_bot_token": "xoxp-a-user-token"}, "SLACK_BOT_TOKEN"),
        ({"slack_app_token": "xoxb-a-bot-token"}, "SLACK_APP_TOKEN"),
        ({"slack_api_url": "slack.com/api"}, "SLACK_API_URL"),
        # The library's variables, through the front ends' settings.
        ({"top_k": 0}, "QA_TOP_K"),
        ({"llm_base_url": "http://127.0.0.1:8080/v1"}, "QA_LLM_MODEL"),
    ],
)
def test_unsafe_values_are_refused_naming_the_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **overrides)
    assert variable in caught.value.message
    assert ".env.example" in caught.value.hint


def test_the_library_neither_reads_nor_refuses_front_end_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QA_API_KEY", "too-short")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-a-user-token")
    monkeypatch.setenv("QA_TOP_K", "7")
    library = load_library_settings(_env_file=None)
    assert library.top_k == 7
    assert not hasattr(library, "api_key") and not hasattr(library, "slack_bot_token")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        load_settings(_env_file=None)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    with pytest.raises(ConfigError, match="QA_API_KEY"):
        load_settings(_env_file=None)


def test_the_qa_command_reads_the_front_ends_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Every command (ask and ingest too) refuses a bad front-end variable, as it always has.
    from service.cli import _settings

    monkeypatch.chdir(tmp_path)  # no .env
    assert isinstance(_settings(port=9000), ServiceSettings)
    assert _settings(port=9000).port == 9000
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-a-user-token")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        _settings()


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_PORT", "8123")
    monkeypatch.setenv("QA_CORS_ORIGINS", "https://wiki.example.com/, http://localhost:3000")
    monkeypatch.setenv("QA_TOP_K", "7")
    settings = load_settings(_env_file=None)
    assert (settings.port, settings.top_k) == (8123, 7)
    assert settings.cors_origin_list == ["https://wiki.example.com", "http://localhost:3000"]


def test_slack_variables_keep_slacks_own_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "a-signing-secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    settings = load_settings()
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-the-environment"
    assert settings.slack_events_enabled
    assert settings.slack_api_base_url == "http://127.0.0.1:9/api/"


def test_slack_events_need_both_the_token_and_the_signing_secret() -> None:
    assert not load_settings(slack_bot_token="xoxb-1").slack_events_enabled
    assert not load_settings(slack_signing_secret="secret").slack_events_enabled
