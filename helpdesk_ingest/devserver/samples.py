"""The sample support mails served by `helpdesk-ingest demo`."""

from __future__ import annotations

from importlib import resources

from helpdesk_ingest.devserver.maildrop import with_crlf


def sample_messages() -> list[bytes]:
    """The bundled samples, in file-name order, with CRLF line ends as a mail server sends them."""
    folder = resources.files("helpdesk_ingest.devserver").joinpath("samples")
    files = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".eml")), key=lambda f: f.name
    )
    return [with_crlf(item.read_bytes()) for item in files]
