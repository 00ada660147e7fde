"""Database access: models, engines, sessions and migrations."""

from bot.db.engine import Database, get_database, in_worker_transaction, make_engine, reset_databases

__all__ = ["Database", "get_database", "in_worker_transaction", "make_engine", "reset_databases"]
