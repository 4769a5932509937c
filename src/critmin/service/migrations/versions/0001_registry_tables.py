"""registry tables: parties, users, tokens, projects, financing, milestones, commitments,
stockpile holdings and the audit log

Revision ID: 0001
Revises: (first revision)
Create Date: 2026-11-22 20:19:44.747191

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table of the registry."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("actor_party", sa.String(length=3), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("owner_party", sa.String(length=3), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_entity"), ["entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_owner_party"), ["owner_party"], unique=False)

    op.create_table(
        "parties",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role_in_framework", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_code", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("met_on", sa.Date(), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("source_title", sa.String(length=500), nullable=False),
        sa.Column("owner_party", sa.String(length=3), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_party"],
            ["parties.code"],
        ),
        sa.ForeignKeyConstraint(
            ["party_code"],
            ["parties.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commitments_owner_party"), ["owner_party"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country_iso3", sa.String(length=3), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("commodity", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("curated_name", sa.String(length=200), nullable=True),
        sa.Column("owner_party", sa.String(length=3), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_party"],
            ["parties.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_owner_party"), ["owner_party"], unique=False)

    op.create_table(
        "stockpile_holdings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_code", sa.String(length=3), nullable=False),
        sa.Column("material", sa.String(length=100), nullable=False),
        sa.Column("tonnes", sa.Float(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("owner_party", sa.String(length=3), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_party"],
            ["parties.code"],
        ),
        sa.ForeignKeyConstraint(
            ["party_code"],
            ["parties.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stockpile_holdings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stockpile_holdings_owner_party"), ["owner_party"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("party_code", sa.String(length=3), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'editor', 'viewer')", name="ck_role"),
        sa.ForeignKeyConstraint(
            ["party_code"],
            ["parties.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_table(
        "financing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("party_code", sa.String(length=3), nullable=False),
        sa.Column("instrument", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("owner_party", sa.String(length=3), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_party"],
            ["parties.code"],
        ),
        sa.ForeignKeyConstraint(
            ["party_code"],
            ["parties.code"],
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("financing_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_financing_decisions_owner_party"), ["owner_party"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_financing_decisions_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("actual_on", sa.Date(), nullable=True),
        sa.Column("owner_party", sa.String(length=3), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_party"],
            ["parties.code"],
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestones_owner_party"), ["owner_party"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_milestones_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    """Drop every table of the registry."""
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestones_project_id"))
        batch_op.drop_index(batch_op.f("ix_milestones_owner_party"))

    op.drop_table("milestones")
    with op.batch_alter_table("financing_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_financing_decisions_project_id"))
        batch_op.drop_index(batch_op.f("ix_financing_decisions_owner_party"))

    op.drop_table("financing_decisions")
    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("stockpile_holdings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stockpile_holdings_owner_party"))

    op.drop_table("stockpile_holdings")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_owner_party"))

    op.drop_table("projects")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_owner_party"))

    op.drop_table("commitments")
    op.drop_table("parties")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_owner_party"))
        batch_op.drop_index(batch_op.f("ix_audit_log_entity"))

    op.drop_table("audit_log")
