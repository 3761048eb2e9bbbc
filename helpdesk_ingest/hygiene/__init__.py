"""Mail hygiene: which messages are automatic (auto-replies, bounces, our own mail) and how fast
mail may arrive before it is held back. Classification is pure: bytes and a parse in, a value out.
"""

from helpdesk_ingest.hygiene.classify import Classification, classify
from helpdesk_ingest.hygiene.settings import HygieneSettings, RateLimits, SlidingWindow

__all__ = ["Classification", "HygieneSettings", "RateLimits", "SlidingWindow", "classify"]
