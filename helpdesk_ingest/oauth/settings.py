"""The ``[mailboxes.oauth]`` table: one token source per mailbox, secrets as SecretStr or files."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from helpdesk_ingest.secret_files import read_secret_file


class OAuthSettings(BaseModel):
    """Where a mailbox's bearer token comes from: a command, or a token endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_command: tuple[str, ...] | None = Field(
        default=None,
        description="Program and arguments printing an access token (or token JSON) on stdout.",
    )
    token_command_lifetime_s: float = Field(
        default=300.0,
        gt=0,
        description="How long a printed token is reused when it says no expiry.",
    )
    token_url: str | None = Field(
        default=None, description="HTTPS token endpoint of the identity provider."
    )
    grant: Literal["refresh_token", "client_credentials"] = Field(
        default="refresh_token",
        description="refresh_token (Google, Microsoft delegated) or client_credentials (app-only).",
    )
    client_id: str | None = Field(default=None, description="OAuth2 client (application) id.")
    client_secret: SecretStr | None = Field(default=None, description="OAuth2 client secret.")
    client_secret_file: Path | None = Field(
        default=None, description="File holding the client secret."
    )
    refresh_token: SecretStr | None = Field(default=None, description="Long-lived refresh token.")
    refresh_token_file: Path | None = Field(
        default=None, description="File holding the refresh token."
    )
    scope: str | None = Field(
        default=None,
        description="Scope to ask for, e.g. https://outlook.office365.com/.default.",
    )
    token_ca_file: Path | None = Field(
        default=None, description="CAs for the token endpoint instead of the system CAs."
    )
    refresh_margin_s: float = Field(
        default=300.0, ge=0, description="Fetch a new token this long before the old one expires."
    )
    two_step: bool = Field(
        default=False,
        description="Send the token after an empty challenge, as Microsoft's POP3 servers expect.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.token_command is None) == (self.token_url is None):
            raise ValueError("set exactly one of token_command and token_url")
        for secret, source in (
            ("client_secret", "client_secret_file"),
            ("refresh_token", "refresh_token_file"),
        ):
            path: Path | None = getattr(self, source)
            if path is not None:
                if getattr(self, secret) is not None:
                    raise ValueError(f"set only one of {secret} and {source}")
                object.__setattr__(self, secret, read_secret_file(path, source))
        if self.token_url is not None:
            self._check_endpoint(self.token_url)
        return self

    def _check_endpoint(self, url: str) -> None:
        if urlsplit(url).scheme != "https":
            raise ValueError("token_url must be an https:// URL")
        if not self.client_id:
            raise ValueError("token_url needs client_id")
        if self.grant == "refresh_token" and self.refresh_token is None:
            raise ValueError("grant refresh_token needs refresh_token or refresh_token_file")
        if self.grant == "client_credentials" and self.client_secret is None:
            raise ValueError("grant client_credentials needs client_secret or client_secret_file")
