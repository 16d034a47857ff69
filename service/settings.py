"""The front ends' settings: `HTTPSettings` (`qa serve`) and `SlackSettings` (the Slack bot), and
`ServiceSettings`, the library's `Settings` plus both, which the `qa` command, the HTTP app and
the Slack bot read.

Variables and .env work as for the library's settings (qa/config.py): QA_* names, Slack's own
SLACK_* names for its tokens, every one documented in .env.example, bad values refused with a
message naming the variable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from qa.config import Settings, SettingsBase, build_settings, http_url


class HTTPSettings(SettingsBase):
    """The HTTP service (`qa serve`): where it listens, who may call it, what it accepts."""

    host: str = Field(default="127.0.0.1", min_length=1, description="Address `qa serve` binds.")
    port: int = Field(default=8000, ge=1, le=65_535)
    workers: int = Field(default=1, ge=1, le=64)
    api_key: SecretStr = Field(
        default=SecretStr(""), description="When set, requests need `Authorization: Bearer <key>`."
    )
    cors_origins: str = Field(
        default="", description="Comma-separated browser origins allowed to call the API."
    )
    max_body_bytes: int = Field(default=65_536, ge=1_024, le=10_485_760)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    public_url: str = Field(
        default="",
        description="The service's address as users reach it; Slack messages then link citations.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in _split(value):
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"'{origin}' is not an origin like https://example.com")
        return value

    @model_validator(mode="after")
    def _http_consistent(self) -> Self:
        key = self.api_key.get_secret_value()
        if key and (len(key) < 16 or key != key.strip()):
            raise ValueError(
                "QA_API_KEY must be at least 16 characters with no surrounding spaces "
                "(e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.rstrip("/") for origin in _split(self.cors_origins)]


class SlackSettings(SettingsBase):
    """The Slack bot. Slack's documentation and app settings use these names, so they are kept
    (no QA_ prefix), but for the bot's own database."""

    slack_bot_token: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SLACK_APP_TOKEN")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL")
    )
    slack_db: Path = Field(
        default=Path(".qa/slack.sqlite3"),
        description="SQLite file of the Slack bot: events answered (no double answers), feedback.",
    )

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _slack_token_kind(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        # Pasting the wrong one of Slack's several tokens is the usual set-up mistake.
        token = value.get_secret_value()
        prefix = "xoxb-" if info.field_name == "slack_bot_token" else "xapp-"
        if token and not token.startswith(prefix):
            raise ValueError(
                f"must start with '{prefix}' (the "
                + (
                    "Bot User OAuth Token, under OAuth & Permissions"
                    if prefix == "xoxb-"
                    else "App-Level Token with connections:write, under Basic Information"
                )
                + ")"
            )
        return value

    @property
    def slack_events_enabled(self) -> bool:
        """Whether `qa serve` mounts the Slack Events API at /slack/events."""
        return bool(
            self.slack_bot_token.get_secret_value() and self.slack_signing_secret.get_secret_value()
        )

    @property
    def slack_api_base_url(self) -> str:
        """SLACK_API_URL with the trailing slash slack_sdk joins method names to."""
        return self.slack_api_url + "/"


class ServiceSettings(SlackSettings, HTTPSettings, Settings):
    """Everything the front ends read: the library's ``Settings`` (which they hand to the
    engine as is), ``HTTPSettings`` and ``SlackSettings``."""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(**overrides: object) -> ServiceSettings:
    """Build the front ends' settings from the environment plus ``overrides``; bad values
    raise ConfigError naming the variable."""
    return build_settings(ServiceSettings, **overrides)


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    """The process-wide front-end settings, read once."""
    return load_settings()
