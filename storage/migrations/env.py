"""Alembic environment: runs on the engine handed in by storage.db (no alembic.ini)."""

from alembic import context

from storage.models import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
