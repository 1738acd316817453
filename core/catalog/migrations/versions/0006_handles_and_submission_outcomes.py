"""handles and submission outcomes

Every account gets a public handle, derived from its display name or email address and
made unique; a submitted link records what its crawl found.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 04:45:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

import core.catalog.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copies of the handle rules of this revision: later changes to the portal's
# rules must not change what this migration wrote.
MIN, MAX = 3, 30
RESERVED = frozenset(
    {
        "about", "account", "admin", "api", "app", "badge", "calendar", "feeds", "help",
        "host", "hosts", "login", "logout", "me", "null", "oembed", "portal", "root",
        "rooms", "search", "settings", "signin", "signout", "signup", "spaces", "static",
        "support", "system", "topics", "www",
    }
)  # fmt: skip


def _base(text: str) -> str:
    handle = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    handle = re.sub(r"_+", "_", handle)[: MAX - 4].rstrip("_")
    if len(handle) < MIN or handle in RESERVED:
        handle = (handle + "_user")[: MAX - 4] if handle else "user"
    return handle


def _backfill() -> None:
    bind = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("display_name", sa.String),
        sa.column("handle", sa.String),
    )
    taken: set[str] = set()
    rows = bind.execute(
        sa.select(users.c.id, users.c.email, users.c.display_name).order_by(users.c.id)
    )
    for uid, email, name in rows.all():
        base = _base(name or "") if _base(name or "") != "user" else _base(email.split("@")[0])
        handle, n = base, 1
        while handle in taken:
            n += 1
            handle = f"{base}_{n}"
        taken.add(handle)
        bind.execute(sa.update(users).where(users.c.id == uid).values(handle=handle))


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handle", sa.String(length=30), nullable=True))
    _backfill()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("handle", existing_type=sa.String(length=30), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_handle"), ["handle"])

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sa.String(length=10), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("found_urls", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("reason", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("crawled_at", core.catalog.models.UTCDateTime(timezone=True), nullable=True)
        )
    # Links submitted before outcomes were recorded: their crawls ran long ago.
    op.execute("UPDATE submissions SET outcome = 'unknown'")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        for name in ("outcome", "found_urls", "reason"):
            batch_op.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        for name in ("crawled_at", "reason", "found_urls", "outcome"):
            batch_op.drop_column(name)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_handle"), type_="unique")
        batch_op.drop_column("handle")
