"""source kinds and health

Sources read social APIs and relays as well as pages and feeds: each keeps its query,
its paging cursor and the validators of its last answer. Sources and spaces keep their
health: the last good fetch, the last status, consecutive failures and a reason code.
A feed that names a WebSub hub keeps its subscription.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import core.catalog.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False, server_default="")


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(_text("query", 500))
        batch_op.add_column(_text("cursor", 500))
        batch_op.add_column(_text("etag", 200))
        batch_op.add_column(_text("last_modified", 100))
        batch_op.add_column(
            sa.Column("last_ok_at", core.catalog.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_status", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(_text("reason", 40))
        batch_op.add_column(_text("paused_reason", 200))
        batch_op.add_column(_text("websub_hub", 2000))
        batch_op.add_column(_text("websub_topic", 2000))
        batch_op.add_column(_text("websub_secret", 100))
        batch_op.add_column(_text("websub_state", 20))
        batch_op.add_column(
            sa.Column(
                "websub_lease_until", core.catalog.models.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_ok_at", core.catalog.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_status", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(_text("check_reason", 40))


def downgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        for name in ("check_reason", "last_status", "last_ok_at"):
            batch_op.drop_column(name)
    with op.batch_alter_table("sources", schema=None) as batch_op:
        for name in (
            "websub_lease_until", "websub_state", "websub_secret", "websub_topic", "websub_hub",
            "paused_reason", "reason", "failures", "last_status", "last_ok_at", "last_modified",
            "etag", "cursor", "query",
        ):  # fmt: skip
            batch_op.drop_column(name)
