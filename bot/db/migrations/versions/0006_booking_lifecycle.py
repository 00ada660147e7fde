"""booking lifecycle: offers from the waiting list, attendance on the booking, scheduled messages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 21:50:00
"""
from alembic import op
import sqlalchemy as sa
import bot.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OLD_ACTIVE = sa.text("status IN ('booked', 'waitlisted')")
NEW_ACTIVE = sa.text("status IN ('booked', 'waitlisted', 'offered')")
OLD_STATUS = "status IN ('booked', 'waitlisted', 'cancelled')"
NEW_STATUS = "status IN ('booked', 'waitlisted', 'offered', 'cancelled', 'attended', 'no_show')"


def _bookings_table(status_check: str, active) -> sa.Table:
    """The bookings table as it is before the change (SQLite does not reflect CHECK constraints)."""
    table = sa.Table(
        'bookings', sa.MetaData(),
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('referral_id', sa.Integer(), sa.ForeignKey('referrals.id', ondelete='CASCADE',
                                                            name='fk_bookings_referral_id_referrals'), nullable=False),
        sa.Column('session_id', sa.Integer(), sa.ForeignKey('activity_sessions.id',
                                                           name='fk_bookings_session_id_activity_sessions'), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(status_check, name='ck_bookings_status'),
    )
    sa.Index('ix_bookings_session_id', table.c.session_id)
    sa.Index('uq_bookings_one_active_per_referral', table.c.referral_id, unique=True,
             sqlite_where=active, postgresql_where=active)
    return table


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None, copy_from=_bookings_table(OLD_STATUS, OLD_ACTIVE)) as batch_op:
        batch_op.drop_index('uq_bookings_one_active_per_referral', sqlite_where=OLD_ACTIVE, postgresql_where=OLD_ACTIVE)
        batch_op.drop_constraint(batch_op.f('ck_bookings_status'), type_='check')
        batch_op.create_check_constraint('status', NEW_STATUS)
        batch_op.add_column(sa.Column('offer_expires_at', bot.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', bot.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=16), nullable=True))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('uq_bookings_one_active_per_referral', ['referral_id'], unique=True,
                              sqlite_where=NEW_ACTIVE, postgresql_where=NEW_ACTIVE)
        batch_op.create_index('ix_bookings_status_offer_expires', ['status', 'offer_expires_at'], unique=False)

    # attendance already marked becomes the booking's status
    op.execute(
        "UPDATE bookings SET status = (SELECT outcome FROM booking_attendance "
        "WHERE booking_attendance.booking_id = bookings.id) "
        "WHERE status = 'booked' AND id IN (SELECT booking_id FROM booking_attendance)"
    )

    op.create_table('booking_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('due_at', bot.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', bot.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', bot.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outbound_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'held', 'cancelled', 'skipped')", name=op.f('ck_booking_messages_status')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_messages_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_messages')),
    sa.UniqueConstraint('booking_id', 'kind', name='uq_booking_message_kind')
    )
    with op.batch_alter_table('booking_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_messages_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_booking_messages_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_address', sa.Text(), nullable=True))

    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buttons', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('buttons')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_column('contact_address')
    with op.batch_alter_table('booking_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_messages_status_due')
        batch_op.drop_index(batch_op.f('ix_booking_messages_booking_id'))
    op.drop_table('booking_messages')

    # the statuses the old schema knows: attendance stays in booking_attendance
    op.execute("UPDATE bookings SET status = 'booked' WHERE status IN ('attended', 'no_show', 'offered')")
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_status_offer_expires')
    new_table = _bookings_table(NEW_STATUS, NEW_ACTIVE)
    for name in ('offer_expires_at', 'confirmed_at'):
        new_table.append_column(sa.Column(name, bot.db.types.UTCDateTime(timezone=True), nullable=True))
    new_table.append_column(sa.Column('cancel_reason', sa.String(length=16), nullable=True))
    with op.batch_alter_table('bookings', schema=None, copy_from=new_table) as batch_op:
        batch_op.drop_index('uq_bookings_one_active_per_referral', sqlite_where=NEW_ACTIVE, postgresql_where=NEW_ACTIVE)
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('offer_expires_at')
        batch_op.drop_constraint(batch_op.f('ck_bookings_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUS)
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('uq_bookings_one_active_per_referral', ['referral_id'], unique=True,
                              sqlite_where=OLD_ACTIVE, postgresql_where=OLD_ACTIVE)
