"""OAuth2 bearer tokens for XOAUTH2 and OAUTHBEARER logins: where they come from, and caching.

The settings (``oauth.settings``) are read with every configuration; the token sources
(``oauth.tokens``, with urllib's HTTP client) are loaded only for a mailbox that logs in with a
token."""
