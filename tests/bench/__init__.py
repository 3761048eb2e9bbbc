"""Throughput and memory benchmark against a private Dovecot; see `python -m tests.bench -h`."""
