"""HTML made safe to show (nh3) and HTML made readable as text (html2text).

Images: an ``<img>`` keeps its ``src`` only when it is a ``cid:`` reference, left exactly as
written (``cid:part1@example.com``). The attachment it names carries the same Content-ID (without
angle brackets) and ``inline=True``, so the helpdesk app resolves ``cid:`` to its own attachment
URL when it renders. Every other ``src`` (http, https, data, relative) is removed, so showing a
ticket never loads anything from the network.
"""

from __future__ import annotations

import html2text
import nh3

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    # Images load only from the message itself (cid:), never from the network: a remote image is
    # a tracking beacon and leaks that an agent opened the ticket.
    if element == "img" and attribute == "src":
        return value if value.lower().startswith("cid:") else None
    return value


def sanitize_html(html: str) -> str:
    """No scripts, no event handlers, no styles that run code, no remote content."""
    return nh3.clean(
        html,
        url_schemes=_URL_SCHEMES,
        attribute_filter=_keep_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.protect_links = True
    return str(converter.handle(html)).strip()
