"""Settings, read once from the environment (prefix PAPERSCOPE_) and validated."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "paperscope"


def default_database_url() -> str:
    """A SQLite file in the user data directory (platformdirs), created on first use."""
    path = Path(platformdirs.user_data_dir(APP_NAME)) / "paperscope.db"
    return f"sqlite:///{path}"


class Settings(BaseSettings):
    """Every setting, its default and what it is for. Environment: PAPERSCOPE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PAPERSCOPE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url,
                              description="SQLite path or URL, or postgresql:// URL")
    secret_key: str = Field(default="change-me", description="Signs sessions and unsubscribe links")
    base_url: str = Field(default="http://localhost:8000", description="Public address used in links")
    smtp_host: str = Field(default="localhost", description="SMTP server for digests")
    smtp_port: int = Field(default=25, description="SMTP port")
    smtp_user: str | None = Field(default=None, description="SMTP user name, if the server wants one")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_security: str = Field(default="none", description="none, starttls or tls")
    mail_from: str = Field(default="paperscope@localhost", description="Sender address of digests")

    arxiv_api_url: str = Field(default="https://export.arxiv.org/api/query",
                               description="arXiv API endpoint")
    arxiv_delay_seconds: float = Field(default=3.0, ge=0,
                                       description="Pause between arXiv API requests (arXiv asks for 3 s)")
    arxiv_page_size: int = Field(default=100, ge=1, le=2000, description="Entries per arXiv API request")
    hf_api_url: str = Field(default="https://huggingface.co/api/daily_papers",
                            description="Hugging Face daily papers endpoint")
    http_timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one HTTP request")
    http_retries: int = Field(default=4, ge=0, description="Retries of a request that failed or got a 5xx")
    http_backoff_seconds: float = Field(default=2.0, ge=0,
                                        description="First retry delay; doubles on each retry")

    @field_validator("smtp_security")
    @classmethod
    def _known_security(cls, value: str) -> str:
        if value not in {"none", "starttls", "tls"}:
            raise ValueError("must be one of: none, starttls, tls")
        return value
