"""Alembic environment: migrate the catalog database named by the caller."""

from alembic import context
from sqlalchemy import Column, Index, pool
from sqlalchemy.sql.schema import SchemaItem

from core.catalog.db import make_engine
from core.catalog.models import Base

config = context.config
target_metadata = Base.metadata

# The search backends create their own tables (FTS5, tsvector) in ensure(); they are
# rebuilt from the catalog at will, so migrations must neither create nor drop them.
SEARCH_TABLE_PREFIXES = ("fts_spaces", "search_spaces")


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    """Leave the search backends' own tables out of autogenerate."""
    owner = obj.table if isinstance(obj, Column | Index) else None
    table = owner.name if owner is not None else name or ""
    return not (type_ in ("table", "index", "column") and table.startswith(SEARCH_TABLE_PREFIXES))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
