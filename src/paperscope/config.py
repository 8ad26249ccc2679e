"""Settings, read once from the environment (prefix PAPERSCOPE_) and validated."""

from __future__ import annotations

import hashlib
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "paperscope"


def default_index_dir(database_url: str) -> Path:
    """Beside a SQLite file (x.db -> x.db.index/), else a folder per database in the user data directory."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url.removeprefix("sqlite:///") + ".index")
    if "://" not in database_url:
        return Path(database_url + ".index")
    digest = hashlib.sha1(database_url.encode("utf-8")).hexdigest()[:12]
    return Path(platformdirs.user_data_dir(APP_NAME)) / "indexes" / digest


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
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one SMTP connection or reply")
    smtp_retries: int = Field(default=3, ge=0, description="Retries of a message after a temporary SMTP failure "
                              "(connection refused, 4xx) within one digest run")
    smtp_backoff_seconds: float = Field(default=2.0, ge=0, description="First SMTP retry delay; doubles on "
                                        "each retry")
    smtp_max_attempts: int = Field(default=10, ge=1, description="Attempts over all runs before a message that "
                                   "keeps failing temporarily is given up (state failed)")

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

    embedding_model: str = Field(default="minilm", description="Embedder: minilm, minilm-fp32, minilm-int8, "
                                 "minilm-torch, st:NAME_OR_PATH, openai:MODEL@URL")
    index_dir: str | None = Field(default=None, description="Folder of the search indexes; default: beside a "
                                  "SQLite database, else in the user data directory")
    fusion: str = Field(default="rrf", description="How hybrid search fuses its two rankings: rrf (reciprocal "
                        "rank fusion) or convex (weighted sum of min-max normalised scores)")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant of hybrid search")
    keyword_weight: float = Field(default=1.0, ge=0, description="Weight of the keyword list in hybrid search")
    semantic_weight: float = Field(default=1.0, ge=0, description="Weight of the semantic list in hybrid search")

    def resolved_index_dir(self) -> Path:
        return Path(self.index_dir) if self.index_dir else default_index_dir(self.database_url)

    @field_validator("fusion")
    @classmethod
    def _known_fusion(cls, value: str) -> str:
        if value not in {"rrf", "convex"}:
            raise ValueError("must be rrf or convex")
        return value

    @field_validator("smtp_security")
    @classmethod
    def _known_security(cls, value: str) -> str:
        if value not in {"none", "starttls", "tls"}:
            raise ValueError("must be one of: none, starttls, tls")
        return value
