"""outbox message kind: the sender tags each e-mail with it (X-Tags)

Revision ID: 3f1c2a9d7b40
Revises: fca53036d7c3
Create Date: 2026-12-02 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f1c2a9d7b40'
down_revision = 'fca53036d7c3'
branch_labels = None
depends_on = None


def upgrade():
    # E-mails already waiting have no kind: they go out untagged.
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('kind')
