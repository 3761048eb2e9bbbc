"""OAuth2 bearer tokens for XOAUTH2 and OAUTHBEARER logins: where they come from, and caching."""

from helpdesk_ingest.oauth.settings import OAuthSettings
from helpdesk_ingest.oauth.tokens import CachedTokenSource, OAuthTokenError, Token, token_source_for

__all__ = ["CachedTokenSource", "OAuthSettings", "OAuthTokenError", "Token", "token_source_for"]
