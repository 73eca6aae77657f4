"""Storage: SQLAlchemy ORM, sessions and Alembic migrations."""
