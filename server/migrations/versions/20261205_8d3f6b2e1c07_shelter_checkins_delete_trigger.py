"""shelter_checkins: a check-in deleted while 'in' (a resident erased, a cascade) leaves the shelter's count

Revision ID: 8d3f6b2e1c07
Revises: 5e2a9c71d4b8
Create Date: 2026-12-05 04:10:00

shelters.checked_in is kept exact by the check-in service; a row can also disappear without
it — DELETE /v1/me erases the resident and the cascade takes their check-ins. The trigger
takes such a row's people off the shelter's count and occupancy, so the count still equals
the check-ins that are in.
"""
from __future__ import annotations

from alembic import op

revision = '8d3f6b2e1c07'
down_revision = '5e2a9c71d4b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION shelter_checkins_leave_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.state = 'in' THEN
                UPDATE shelters SET checked_in = GREATEST(checked_in - OLD.headcount, 0),
                                    occupancy = GREATEST(COALESCE(occupancy, 0) - OLD.headcount, 0)
                WHERE id = OLD.shelter_id;
            END IF;
            RETURN OLD;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER shelter_checkins_leave_count AFTER DELETE ON shelter_checkins "
        "FOR EACH ROW EXECUTE FUNCTION shelter_checkins_leave_count()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER shelter_checkins_leave_count ON shelter_checkins")
    op.execute("DROP FUNCTION shelter_checkins_leave_count()")
