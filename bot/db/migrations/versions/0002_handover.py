"""handover: agents, sessions, state per conversation, audit log, canned responses, notes, handling times

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'agents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=256), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', _tz(), nullable=False),
        sa.Column('disabled_at', _tz(), nullable=True),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', _tz(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username'),
    )
    op.create_table(
        'agent_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', _tz(), nullable=False),
        sa.Column('expires_at', _tz(), nullable=False),
        sa.Column('last_seen_at', _tz(), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', _tz(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_conversation', ['conversation_id'], unique=False)

    op.create_table(
        'canned_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', _tz(), nullable=False),
        sa.Column('updated_at', _tz(), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['agents.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'conversation_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', _tz(), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('conversation_notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_conversation', ['conversation_id'], unique=False)

    op.create_table(
        'handling_times',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('queued_at', _tz(), nullable=True),
        sa.Column('assigned_at', _tz(), nullable=True),
        sa.Column('closed_at', _tz(), nullable=False),
        sa.Column('wait_s', sa.Integer(), nullable=True),
        sa.Column('handle_s', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('handling_times', schema=None) as batch_op:
        batch_op.create_index('ix_handling_closed', ['closed_at'], unique=False)

    op.create_table(
        'handover_states',
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('queued_at', _tz(), nullable=True),
        sa.Column('assigned_at', _tz(), nullable=True),
        sa.Column('updated_at', _tz(), nullable=False),
        sa.Column('last_inbound_id', sa.Integer(), nullable=True),
        sa.Column('last_citizen_at', _tz(), nullable=True),
        sa.Column('last_agent_reply_at', _tz(), nullable=True),
        sa.Column('wait_updates_sent', sa.Integer(), nullable=False),
        sa.Column('last_wait_update_at', _tz(), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('conversation_id'),
    )
    with op.batch_alter_table('handover_states', schema=None) as batch_op:
        batch_op.create_index('ix_handover_state_queue', ['state', 'queued_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handover_states', schema=None) as batch_op:
        batch_op.drop_index('ix_handover_state_queue')
    op.drop_table('handover_states')
    with op.batch_alter_table('handling_times', schema=None) as batch_op:
        batch_op.drop_index('ix_handling_closed')
    op.drop_table('handling_times')
    with op.batch_alter_table('conversation_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_conversation')
    op.drop_table('conversation_notes')
    op.drop_table('canned_responses')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_conversation')
        batch_op.drop_index('ix_audit_at')
    op.drop_table('audit_log')
    op.drop_table('agent_sessions')
    op.drop_table('agents')
