"""Configuration from environment variables and an optional `.env` file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TOKEN_RE = re.compile(r"^\d{5,20}:[A-Za-z0-9_-]{30,60}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # what Telegram accepts as a secret_token
LANGUAGES = ("en", "fr", "sw", "es", "ln")
DEFAULT_LANGUAGE = "en"


class ConfigError(Exception):
    """A configuration problem explained in one line."""


def check_timezone(name: str) -> str:
    """Return the IANA zone name if it exists, else raise ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Africa/Lubumbashi)"
        ) from exc
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = Field(default=None)
    telegram_api_url: str | None = Field(default=None)
    database_url: str | None = Field(default=None)
    data_dir: Path = Field(default=Path("data"), validation_alias="WGBOT_DATA_DIR")
    default_timezone: str = Field(default="UTC", validation_alias="WGBOT_DEFAULT_TIMEZONE")
    default_language: str = Field(
        default=DEFAULT_LANGUAGE, validation_alias="WGBOT_DEFAULT_LANGUAGE"
    )
    log_level: str = Field(default="INFO", validation_alias="WGBOT_LOG_LEVEL")
    scheduler_tick_seconds: float = Field(default=30.0, validation_alias="WGBOT_TICK_SECONDS")
    catalogue_dirs_value: str = Field(default="", validation_alias="WGBOT_CATALOGUE_DIRS")
    # Production mode: webhook, health and metrics, shared state in Redis.
    webhook_url: str | None = Field(default=None, validation_alias="WGBOT_WEBHOOK_URL")
    webhook_path: str = Field(default="/telegram/webhook", validation_alias="WGBOT_WEBHOOK_PATH")
    webhook_secret: str | None = Field(default=None, validation_alias="WGBOT_WEBHOOK_SECRET")
    http_host: str = Field(default="0.0.0.0", validation_alias="WGBOT_HTTP_HOST")
    http_port: int | None = Field(default=None, validation_alias="WGBOT_HTTP_PORT")
    # /healthz and /metrics: an internal listener, loopback unless said otherwise.
    metrics_host: str = Field(default="127.0.0.1", validation_alias="WGBOT_METRICS_HOST")
    metrics_port: int | None = Field(default=None, validation_alias="WGBOT_METRICS_PORT")
    redis_url: str | None = Field(default=None, validation_alias="WGBOT_REDIS_URL")
    fsm_ttl_seconds: int = Field(default=86400, validation_alias="WGBOT_FSM_TTL_SECONDS", ge=60)
    claim_lease_seconds: float = Field(
        default=60.0, validation_alias="WGBOT_CLAIM_LEASE_SECONDS", gt=0)
    max_updates_in_progress: int | None = Field(
        default=None, validation_alias="WGBOT_MAX_UPDATES_IN_PROGRESS", ge=1)
    shutdown_seconds: float = Field(default=20.0, validation_alias="WGBOT_SHUTDOWN_SECONDS", ge=0)

    @property
    def catalogue_dirs(self) -> list[Path]:
        """Operator folders of extra or replacement catalogue entries (os.pathsep-separated)."""
        return [Path(p) for p in self.catalogue_dirs_value.split(os.pathsep) if p.strip()]

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"unsupported language {value!r} (one of {', '.join(LANGUAGES)})")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        if not TOKEN_RE.match(value):
            raise ValueError(
                "TELEGRAM_BOT_TOKEN is malformed (expected digits, a colon and a secret, "
                "as given by BotFather)"
            )
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " ?#"):
            raise ValueError("must be a URL path starting with / (no spaces, ? or #)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip().rstrip("/")
        if not value.startswith("https://") and not value.startswith("http://"):
            raise ValueError("must be the public https:// address Telegram will call")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not SECRET_RE.match(value.strip()):
            raise ValueError("use 16 to 256 characters among A-Z, a-z, 0-9, _ and -")
        return value.strip()

    @field_validator("redis_url", "database_url", "telegram_api_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    def require_webhook(self) -> tuple[str, str]:
        """The public URL Telegram calls and the secret it must present."""
        if not self.webhook_url:
            raise ConfigError(
                "WGBOT_WEBHOOK_URL is not set: give the public https:// address of this service "
                "(the path WGBOT_WEBHOOK_PATH is added to it)")
        if not self.webhook_secret:
            raise ConfigError(
                "WGBOT_WEBHOOK_SECRET is not set: choose 16+ random characters "
                "(A-Z, a-z, 0-9, _ and -); Telegram sends it with every update")
        return self.webhook_url + self.webhook_path, self.webhook_secret

    def update_concurrency(self, sqlite: bool) -> int:
        """Updates handled at once: SQLite has one writer at a time; PostgreSQL's pool has 20
        connections, a few of which the scheduler and the outbox use."""
        if self.max_updates_in_progress:
            return self.max_updates_in_progress
        return 4 if sqlite else 16

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'wgbot.db').resolve()}"

    def require_token(self) -> str:
        if not self.telegram_bot_token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its "
                "token, or try the bot locally with `wgbot console`"
            )
        return self.telegram_bot_token


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning validation errors into one-line ConfigErrors."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "config"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"configuration error in {field.upper()}: {message}") from None
