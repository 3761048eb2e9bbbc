"""helpdesk-ingest: turns a support mailbox into helpdesk tickets, committing before every DELE."""

__version__ = "0.1.0"
