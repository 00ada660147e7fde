"""Database access: models, engines, sessions and migrations."""

from bot.db.engine import Database, get_database, make_engine, reset_databases

__all__ = ["Database", "get_database", "make_engine", "reset_databases"]
