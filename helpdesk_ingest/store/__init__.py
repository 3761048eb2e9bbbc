"""Persistence: SQLAlchemy models, the engine, migrations and the ingest transaction."""
