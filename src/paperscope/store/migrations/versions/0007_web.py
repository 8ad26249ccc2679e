"""web: API tokens, submissions, sign-in throttling (placeholder: the web work fills this revision in)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
