"""family_groups: an owner who erased their account hands the group to its longest member

Revision ID: e2b7c4a9d613
Revises: a7c3e5d1f902
Create Date: 2026-12-05 04:55:00

DELETE /v1/me erases the resident; family_groups.owner_id is ON DELETE SET NULL, which left a
group nobody could manage (only the owner removes members). A trigger on that SET NULL makes
the longest member (joined first) the owner, as leaving does; a group whose last member is
gone (the cascade took them) is deleted with its name.
"""
from __future__ import annotations

from alembic import op

revision = 'e2b7c4a9d613'
down_revision = 'a7c3e5d1f902'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION family_groups_next_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE successor bigint;
        BEGIN
            IF NEW.owner_id IS NULL AND OLD.owner_id IS NOT NULL THEN
                SELECT resident_id INTO successor FROM family_members
                WHERE group_id = NEW.id AND resident_id <> OLD.owner_id
                ORDER BY joined_at, resident_id LIMIT 1;
                IF successor IS NOT NULL THEN
                    NEW.owner_id := successor;
                    UPDATE family_members SET role = 'owner' WHERE group_id = NEW.id AND resident_id = successor;
                END IF;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER family_groups_next_owner BEFORE UPDATE OF owner_id ON family_groups "
        "FOR EACH ROW EXECUTE FUNCTION family_groups_next_owner()"
    )
    op.execute(
        """
        CREATE FUNCTION family_members_last_out() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM family_members WHERE group_id = OLD.group_id) THEN
                DELETE FROM family_groups WHERE id = OLD.group_id;
            END IF;
            RETURN OLD;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER family_members_last_out AFTER DELETE ON family_members "
        "FOR EACH ROW EXECUTE FUNCTION family_members_last_out()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER family_members_last_out ON family_members")
    op.execute("DROP FUNCTION family_members_last_out()")
    op.execute("DROP TRIGGER family_groups_next_owner ON family_groups")
    op.execute("DROP FUNCTION family_groups_next_owner()")
