"""Durable state through SQLAlchemy 2: SQLite (embedded default) or PostgreSQL."""
