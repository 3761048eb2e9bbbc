"""Mail hygiene: which messages are automatic (auto-replies, bounces, our own mail) and how fast
mail may arrive before it is held back. Classification is pure: bytes and a parse in, a value out.
"""
