"""A development POP3 server with fault injection, and sample mails for the demo."""

from helpdesk_ingest.devserver.faults import Faults
from helpdesk_ingest.devserver.samples import sample_messages
from helpdesk_ingest.devserver.server import DevPop3Server

__all__ = ["DevPop3Server", "Faults", "sample_messages"]
