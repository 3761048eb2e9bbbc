"""Helpers shared by the test suite: real services started for a test session."""
