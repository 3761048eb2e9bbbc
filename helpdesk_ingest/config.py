"""Settings: a TOML file, then environment overrides, then secrets read from files.

Precedence, highest first: ``HELPDESK_INGEST_…`` environment variables (``__`` nests, and
``HELPDESK_INGEST_MAILBOXES__<index>__<field>`` overrides one field of one ``[[mailboxes]]``
entry), files in ``/run/secrets`` named after a top-level setting, the TOML file, defaults.
Every secret can instead be read from a file named by its ``…_file`` sibling setting.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    DirectoryPath,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from helpdesk_ingest.charsets import mail_codec, writes_ascii_as_ascii
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.oauth.settings import OAuthSettings
from helpdesk_ingest.parse_limits import MAX_TREE_PARTS, ParseLimits
from helpdesk_ingest.pop3.tls import parse_pin
from helpdesk_ingest.routing.rules import RoutingRule
from helpdesk_ingest.secret_files import read_secret_file
from helpdesk_ingest.store.threading_settings import FollowUpSettings

ENV_PREFIX = "HELPDESK_INGEST_"
CONFIG_ENV_VAR = f"{ENV_PREFIX}CONFIG"
DEFAULT_DATABASE_URL = "sqlite:///helpdesk.db"
SUPPORTED_DATABASES = frozenset({"sqlite", "postgresql"})
SECRETS_DIR = Path("/run/secrets")
DEFAULT_TICKET_TAG_PATTERN = r"\[#(?P<number>\d+)\]"
_MAILBOX_OVERRIDE = re.compile(rf"^{ENV_PREFIX}MAILBOXES__(\d+)__(\w+)$", re.IGNORECASE)
_MAILBOX_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting and the problem."""


class MailboxSettings(BaseModel):
    """One POP3 mailbox the daemon drains."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short unique name, used in logs, metrics and the database.")
    host: str = Field(min_length=1, description="POP3 server name; its certificate must match it.")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Defaults to 995 for tls, 110 for starttls."
    )
    security: Literal["tls", "starttls"] = Field(
        default="tls", description='"tls": implicit TLS; "starttls": STLS on a plain port.'
    )
    username: str = Field(min_length=1, description="POP3 login name.")
    password: SecretStr | None = Field(default=None, description="POP3 password.")
    password_file: Path | None = Field(
        default=None, description="File holding the password, e.g. /run/secrets/pop3."
    )
    ca_file: Path | None = Field(
        default=None, description="PEM file of CAs to trust instead of the system CAs."
    )
    auth: Literal[
        "auto",
        "plain",
        "login",
        "cram-md5",
        "scram-sha-1",
        "scram-sha-256",
        "apop",
        "user",
        "xoauth2",
        "oauthbearer",
    ] = Field(
        default="auto",
        description="Login mechanism; auto: the strongest the server offers after TLS.",
    )
    tls_pin_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the server's public key (SPKI), hex or base64; refuse others.",
    )
    client_cert_file: Path | None = Field(
        default=None, description="PEM client certificate for servers that require one."
    )
    client_key_file: Path | None = Field(
        default=None, description="PEM key of client_cert_file, if not in that file."
    )
    oauth: OAuthSettings | None = Field(
        default=None, description="Token source for auth = xoauth2 or oauthbearer."
    )
    connect_timeout_s: float = Field(default=30.0, gt=0, description="TCP and TLS set-up limit.")
    read_timeout_s: float = Field(default=120.0, gt=0, description="Limit for one server reply.")
    queue: str = Field(default="support", min_length=1, description="Queue of new tickets.")
    enabled: bool = Field(default=True, description="A disabled mailbox is never polled.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not _MAILBOX_NAME.match(self.name):
            raise ValueError(
                "name must be 1-64 letters, digits, '.', '_' or '-', not starting with a symbol"
            )
        uses_password = self.auth not in ("xoauth2", "oauthbearer")
        if not uses_password and self.oauth is None:
            raise ValueError(f"auth = {self.auth} needs an [mailboxes.oauth] table")
        if uses_password and self.password is None and self.password_file is None:
            raise ValueError("set password or password_file")
        if self.password is not None and self.password_file is not None:
            raise ValueError("set only one of password and password_file")
        for setting in ("ca_file", "client_cert_file", "client_key_file"):
            path = getattr(self, setting)
            if path is not None and not path.is_file():
                raise ValueError(f"{setting} {path} does not exist")
        if self.tls_pin_sha256 is not None:
            parse_pin(self.tls_pin_sha256)
        if self.password_file is not None:
            # Read now so a missing secret stops start-up instead of the first poll.
            object.__setattr__(
                self, "password", read_secret_file(self.password_file, "password_file")
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 995 if self.security == "tls" else 110

    def password_value(self) -> str:
        assert self.password is not None  # guaranteed by _check
        return self.password.get_secret_value()


class Settings(BaseSettings):
    """Every setting of the daemon; see config/helpdesk-ingest.example.toml."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db.",
    )
    database_url_file: Path | None = Field(
        default=None, description="File holding the database URL (it may carry a password)."
    )
    poll_interval_s: float = Field(default=60.0, gt=0, description="Pause between polls.")
    poll_jitter: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description=(
            "Each pause is lengthened by up to this fraction of poll_interval_s, at random, so "
            "replicas' timers drift apart and share the mailboxes; 0 turns it off."
        ),
    )
    checkpoint_every: int = Field(
        default=500,
        ge=1,
        description=(
            "QUIT and reconnect after this many messages in one pass, so the server applies "
            "their deletes; each reconnect is a TLS handshake and a login."
        ),
    )
    max_messages_per_poll: int = Field(
        default=1000,
        ge=1,
        description=(
            "Upper bound of messages handled in one pass; with more waiting, the daemon starts "
            "the next pass at once instead of after poll_interval_s."
        ),
    )
    parse_workers: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Worker processes that parse and classify while the daemon stores; unset: one per "
            "CPU; 0: parse in the daemon's own process."
        ),
    )
    commit_group_size: int = Field(
        default=32,
        ge=1,
        le=1000,
        description=(
            "Messages stored in one transaction, then deleted together (commit, then DELE, "
            "per group); 1: a transaction per message."
        ),
    )
    spool_over_bytes: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        description=(
            "Messages larger than this (as the server lists them) are downloaded into a file and "
            "stored from it in pieces, never held whole in memory."
        ),
    )
    spool_dir: DirectoryPath | None = Field(
        default=None,
        description=(
            "Where those files go, in a private directory made for each pass; unset: the "
            "system's temporary directory (TMPDIR)."
        ),
    )
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Larger messages become a ticket from their headers only; raw bytes kept.",
    )
    max_header_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Larger header sections are not parsed."
    )
    max_mime_parts: int = Field(
        default=500,
        ge=1,
        le=MAX_TREE_PARTS,
        description="MIME parts looked at per message.",
    )
    max_mime_depth: int = Field(default=20, ge=1, description="MIME nesting followed per message.")
    max_parse_memory_mb: int = Field(
        default=1024,
        ge=256,
        description=(
            "Address space (MiB) of each parse worker; a message whose preparation needs more is "
            "quarantined (reason over-memory-limit) instead of taking the host's memory. A worker "
            "preparing a 20 MB message spans about 200 MiB."
        ),
    )
    max_parse_cpu_s: float = Field(
        default=120.0,
        gt=0,
        description=(
            "CPU seconds a parse worker may spend on one message; past them the message is "
            "quarantined (reason over-cpu-limit) instead of holding up the mailbox. The largest "
            "real mail takes a few seconds."
        ),
    )
    fallback_charset: str = Field(
        default="windows-1252",
        description=(
            "Charset of 8-bit text that declares none and is too short to detect one from (one "
            "or two accented letters), and of 8-bit header bytes that are not UTF-8: what your "
            "senders' older software writes (windows-1250 for Central European, windows-1251 "
            "for Cyrillic mail)."
        ),
    )
    ticket_tag_pattern: str = Field(
        default=DEFAULT_TICKET_TAG_PATTERN,
        description="Regex finding a ticket number in a subject; needs a group named 'number'.",
    )
    migrate_on_start: bool = Field(
        default=False, description="Run pending migrations at start-up instead of refusing."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: console on a terminal, JSON lines otherwise."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level written."
    )
    poison_retry_limit: int = Field(
        default=3,
        ge=1,
        description="Failed ingest transactions of one message before it is quarantined.",
    )
    backoff_base_s: float = Field(
        default=30.0, gt=0, description="First pause after a failed pass of a mailbox."
    )
    backoff_max_s: float = Field(
        default=900.0,
        gt=0,
        description=(
            "Longest pause between passes of a failing mailbox; poll_interval_s when the pass "
            "failed at the database."
        ),
    )
    http_listen: str | None = Field(
        default=None,
        description='"127.0.0.1:9464" serves /healthz and /metrics there; unset: no listener.',
    )
    unhealthy_after_failures: int = Field(
        default=5, ge=1, description="/healthz fails after this many failed passes in a row."
    )
    healthy_poll_age_s: float = Field(
        default=600.0, gt=0, description="`health` fails when a mailbox's last good poll is older."
    )
    mailboxes: list[MailboxSettings] = Field(
        default_factory=list, description="The mailboxes to drain."
    )
    hygiene: HygieneSettings = Field(
        default_factory=HygieneSettings,
        description="Auto-replies, bounces, own mail and rate limits; see [hygiene].",
    )
    follow_up: FollowUpSettings = Field(
        default_factory=FollowUpSettings,
        description="Which mail continues an existing ticket; see [follow_up].",
    )
    routing: list[RoutingRule] = Field(
        default_factory=list,
        description="Routing rules ([[routing]]), first match wins; checked at start-up.",
    )

    @field_validator("fallback_charset")
    @classmethod
    def _charset_of_mail(cls, label: str) -> str:
        """The label as the codec that reads it (windows-1250 as cp1250)."""
        codec = mail_codec(label.strip())
        if codec is None:
            raise ValueError(f"{label!r} is not a charset mail is written in")
        if not writes_ascii_as_ascii(codec):
            raise ValueError(f"{label!r} does not write ASCII as ASCII; mail text needs that")
        return codec

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.database_url_file is not None:
            object.__setattr__(
                self, "database_url", read_secret_file(self.database_url_file, "database_url_file")
            )
        try:
            backend = make_url(self.database_url.get_secret_value()).get_backend_name()
        except ArgumentError:
            raise ValueError(
                "database_url is not a database URL (sqlite:///file.db or "
                "postgresql+psycopg://user@host/db)"
            ) from None
        if backend not in SUPPORTED_DATABASES:
            raise ValueError(f"database_url: {backend} is not supported; use sqlite or postgresql")
        try:
            pattern = re.compile(self.ticket_tag_pattern)
        except re.error as exc:
            raise ValueError(f"ticket_tag_pattern is not a valid regex: {exc}") from None
        if "number" not in pattern.groupindex:
            raise ValueError("ticket_tag_pattern needs a group named 'number': (?P<number>\\d+)")
        names = [mailbox.name for mailbox in self.mailboxes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"mailbox names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def database_url_value(self) -> str:
        return self.database_url.get_secret_value()

    @property
    def ticket_tag_regex(self) -> re.Pattern[str]:
        return re.compile(self.ticket_tag_pattern)

    @property
    def parse_limits(self) -> ParseLimits:
        return ParseLimits(
            max_message_bytes=self.max_message_bytes,
            max_header_bytes=self.max_header_bytes,
            max_parts=self.max_mime_parts,
            max_depth=self.max_mime_depth,
            max_cpu_s=self.max_parse_cpu_s,
            max_memory_mb=self.max_parse_memory_mb,
        )

    def mailbox(self, name: str) -> MailboxSettings:
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise ConfigError(f"no mailbox named {name!r} in the configuration")


class _TomlFileSource(PydanticBaseSettingsSource):
    """The TOML file; its [[mailboxes]] list is patched by per-index environment overrides."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


class _MailboxEnvOverrides(PydanticBaseSettingsSource):
    """``HELPDESK_INGEST_MAILBOXES__0__PASSWORD_FILE=…`` sets one field of the first mailbox."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        file_mailboxes: list[dict[str, Any]],
        environ: Mapping[str, str],
    ) -> None:
        super().__init__(settings_cls)
        self._file_mailboxes = file_mailboxes
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        overrides = [
            (int(match[1]), match[2].lower(), value)
            for key, value in self._environ.items()
            if (match := _MAILBOX_OVERRIDE.match(key))
        ]
        if not overrides:
            return {}
        mailboxes = [dict(entry) for entry in self._file_mailboxes]
        for index, field_name, value in sorted(overrides):
            while len(mailboxes) <= index:
                mailboxes.append({})
            mailboxes[index][field_name] = value
        return {"mailboxes": mailboxes}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad setting and its problem, never echoing the value."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "config"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{location}: {message}")
    return "; ".join(problems)


def load_settings(config_file: Path | None = None) -> Settings:
    """Load settings from ``config_file`` (or ``$HELPDESK_INGEST_CONFIG``) and the environment.

    Raises ConfigError with a one-line message; nothing else escapes for a bad configuration.
    """
    if config_file is None and os.environ.get(CONFIG_ENV_VAR):
        config_file = Path(os.environ[CONFIG_ENV_VAR])
    file_data = _read_toml(config_file) if config_file is not None else {}
    file_mailboxes = file_data.get("mailboxes", [])
    if not isinstance(file_mailboxes, list):
        raise ConfigError("mailboxes: must be a list of [[mailboxes]] tables")

    class _LoadedSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                init_settings,
                _MailboxEnvOverrides(settings_cls, file_mailboxes, os.environ),
                env_settings,
                file_secret_settings,
                _TomlFileSource(settings_cls, file_data),
            )

    secrets_dir = SECRETS_DIR if SECRETS_DIR.is_dir() else None
    try:
        return _LoadedSettings(_secrets_dir=secrets_dir)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
