"""Settings for every process, read once from the environment and `.env`.

Local defaults point at the emulator, the keyless fetcher and SQLite, so one machine
runs the whole flow. With `JOBSEARCH_ENV=production` the Confluent settings and the sink
token become required, and the error names each missing variable, never a value.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobsearch.errors import ConfigurationError

LOCAL_REST_URL = "http://127.0.0.1:8082"
LOCAL_CLUSTER_ID = "lkc-local"
LOCAL_CREDENTIAL = "local"
DEFAULT_DATABASE_URL = "sqlite:///var/jobsearch.sqlite3"

_PRODUCTION_REQUIRED = (
    "confluent_rest_url",
    "confluent_cluster_id",
    "confluent_api_key",
    "confluent_api_secret",
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of both apps, the emulator and the CLI."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    jobsearch_env: Literal["local", "production"] = "local"
    log_level: str = "INFO"
    log_format: Literal["auto", "text", "json"] = "auto"

    # Confluent Cloud REST v3 (the producer) - None means "not set".
    confluent_rest_url: str | None = None
    confluent_cluster_id: str | None = None
    confluent_api_key: str | None = None
    confluent_api_secret: SecretStr | None = None
    kafka_topic_job_search: str = "job-search-requests"
    produce_connect_timeout: float = Field(default=3.0, gt=0)
    produce_read_timeout: float = Field(default=5.0, gt=0)
    produce_retry_budget: float = Field(default=4.0, ge=0)
    produce_mode: Literal["request", "stream"] = "request"

    # producer_app
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://localhost:5173"]
    )
    admission_per_user_per_minute: float = Field(default=20, gt=0)
    admission_per_user_burst: int = Field(default=5, ge=1)
    admission_global_per_second: float = Field(default=100, gt=0)
    admission_exempt_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    search_time_window: str = Field(default="qdr:m", min_length=1, max_length=32)
    max_request_bytes: int = Field(default=16 * 1024, gt=0)
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)
    stalled_after_seconds: float = Field(default=900.0, gt=0)

    # Supabase: auth for the producer (JWT), storage later.
    supabase_url: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None
    supabase_service_role_key: SecretStr | None = None
    supabase_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # sink_app
    sink_bearer_token: SecretStr | None = None
    sink_deadline_seconds: float = Field(default=25.0, gt=0)
    sink_retry_after_seconds: int = Field(default=5, ge=1)
    sink_lease_seconds: float = Field(default=30.0, gt=0)
    sink_fetch_concurrency: int = Field(default=8, ge=1, le=64)
    sink_enrich_concurrency: int = Field(default=8, ge=1, le=64)
    max_sink_request_bytes: int = Field(default=256 * 1024, gt=0)

    # Firecrawl (search and scrape) and OpenAI (enrichment); off without a key.
    firecrawl_api_key: SecretStr | None = None
    firecrawl_api_url: str = "https://api.firecrawl.dev"
    firecrawl_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    firecrawl_max_age_ms: int = Field(default=3_600_000, ge=0)
    job_board_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    job_board_blocked_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list
    )
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4.1-mini"
    openai_base_url: str = "https://api.openai.com/v1"
    openai_timeout_seconds: float = Field(default=20.0, gt=0)
    openai_max_input_chars: int = Field(default=12_000, ge=500, le=100_000)

    # Keyless fetcher
    scrape_allow_private: bool = False
    scrape_timeout_seconds: float = Field(default=10.0, gt=0)
    scrape_max_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    scrape_max_redirects: int = Field(default=5, ge=0, le=20)
    scrape_user_agent: str = "jobsearch-offload/0.1 (+https://example.invalid/bot)"

    # Storage
    database_url: str = DEFAULT_DATABASE_URL
    local_user_id: str = "00000000-0000-4000-8000-000000000001"

    # Emulator
    emulator_partitions: int = Field(default=3, ge=1, le=64)
    emulator_database_url: str = "sqlite:///var/emulator.sqlite3"
    emulator_limit_mode: bool = False

    @field_validator(
        "cors_allow_origins",
        "admission_exempt_addresses",
        "job_board_domains",
        "job_board_blocked_domains",
        mode="before",
    )
    @classmethod
    def _parse_comma_lists(cls, value: object) -> object:
        return _split_csv(value)

    @model_validator(mode="after")
    def _require_production_settings(self) -> Settings:
        if not self.is_production:
            return self
        missing = [
            name.upper() for name in _PRODUCTION_REQUIRED if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"production requires {', '.join(missing)}")
        return self

    @property
    def is_production(self) -> bool:
        """True when every safety default of local mode is off."""
        return self.jobsearch_env == "production"

    @property
    def rest_url(self) -> str:
        """The REST v3 endpoint, the local emulator when unset."""
        return (self.confluent_rest_url or LOCAL_REST_URL).rstrip("/")

    @property
    def cluster_id(self) -> str:
        """The Kafka cluster id, `lkc-local` when unset."""
        return self.confluent_cluster_id or LOCAL_CLUSTER_ID

    @property
    def rest_credentials(self) -> tuple[str, SecretStr]:
        """The Kafka API key and secret for HTTP Basic auth."""
        key = self.confluent_api_key or LOCAL_CREDENTIAL
        secret = self.confluent_api_secret or SecretStr(LOCAL_CREDENTIAL)
        return key, secret

    @property
    def sink_tokens(self) -> list[SecretStr]:
        """Accepted sink bearer tokens; several allow a rollover without downtime."""
        if self.sink_bearer_token is None:
            return []
        raw = self.sink_bearer_token.get_secret_value()
        return [SecretStr(token.strip()) for token in raw.split(",") if token.strip()]

    @property
    def supabase_auth_enabled(self) -> bool:
        """True when searches must carry a verified Supabase user JWT."""
        return bool(self.supabase_jwt_secret or self.supabase_jwks_url)

    @cached_property
    def sqlite_path(self) -> Path:
        """The SQLite file named by `DATABASE_URL`."""
        return sqlite_path_from_url(self.database_url)


def sqlite_path_from_url(url: str) -> Path:
    """Turn `sqlite:///relative` or `sqlite:////absolute` into a path."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ConfigurationError("DATABASE_URL must start with sqlite:/// here")
    return Path(url.removeprefix(prefix))


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into a message without values."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part).upper() for part in error["loc"])
        text = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{location}: {text}" if location else text)
    return "invalid settings: " + "; ".join(problems)
