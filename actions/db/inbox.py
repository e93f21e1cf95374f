"""The staff inbox's storage: hand-offs with their staff replies and assignee, and canned replies."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from actions.commerce.ports import CannedReply, Handoff, StaffMember, StaffReply
from actions.db import repositories
from actions.db import tables as t


def _reply(row: t.StaffReply) -> StaffReply:
    return StaffReply(
        row.id, row.tenant_id, row.handoff_id, row.conversation_id, row.staff_name, row.text, row.created_at,
        row.delivered_at is not None,
    )  # fmt: skip


class Handoffs(repositories.Handoffs):
    async def get(self, handoff_id: int) -> Handoff | None:
        found = (
            await self.session.execute(
                select(t.Handoff, t.StaffUser.name)
                .outerjoin(t.StaffUser, t.StaffUser.id == t.Handoff.assigned_to)
                .where(t.Handoff.id == handoff_id)
            )
        ).first()
        if found is None:
            return None
        row, assignee = found
        return Handoff(
            row.id, row.tenant_id, row.conversation_id, row.resolved_at is None, row.reason, row.requested_at, assignee
        )

    async def is_waiting(self, tenant_id: int, conversation_id: str) -> bool:
        query = select(t.Handoff.id).where(
            t.Handoff.tenant_id == tenant_id,
            t.Handoff.conversation_id == conversation_id,
            t.Handoff.resolved_at.is_(None),
        )
        return await self.session.scalar(query) is not None

    async def add_reply(self, handoff: Handoff, staff: StaffMember, staff_name: str, text: str) -> StaffReply:
        row = await self.session.scalar(
            insert(t.StaffReply)
            .values(
                tenant_id=handoff.tenant_id, handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                staff_user_id=staff.user_id, staff_name=staff_name[:200], text=text,
            )
            .returning(t.StaffReply)
        )  # fmt: skip
        await self.session.execute(
            update(t.Handoff).where(t.Handoff.id == handoff.id).values(assigned_to=staff.user_id)
        )
        return _reply(row)

    async def reply(self, reply_id: int) -> StaffReply | None:
        row = await self.session.get(t.StaffReply, reply_id)
        return _reply(row) if row else None

    async def undelivered(self, conversation_id: str) -> list[StaffReply]:
        query = select(t.StaffReply).where(
            t.StaffReply.conversation_id == conversation_id, t.StaffReply.delivered_at.is_(None)
        )
        return [_reply(row) for row in await self.session.scalars(query.order_by(t.StaffReply.id))]

    async def mark_delivered(self, reply_id: int) -> None:
        await self.session.execute(
            update(t.StaffReply)
            .where(t.StaffReply.id == reply_id, t.StaffReply.delivered_at.is_(None))
            .values(delivered_at=func.now())
        )


class CannedReplies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_shop(self, tenant_id: int) -> list[CannedReply]:
        query = select(t.CannedReply).where(t.CannedReply.tenant_id == tenant_id).order_by(t.CannedReply.title)
        return [CannedReply(r.id, r.title, r.text_en, r.text_sw) for r in await self.session.scalars(query)]

    async def save(self, tenant_id: int, reply_id: int | None, title: str, text_en: str, text_sw: str) -> bool:
        values = {"title": title, "text_en": text_en, "text_sw": text_sw}
        if reply_id is None:
            statement = (
                insert(t.CannedReply)
                .values(tenant_id=tenant_id, **values)
                .on_conflict_do_nothing(index_elements=["tenant_id", "title"])
                .returning(t.CannedReply.id)
            )
            return await self.session.scalar(statement) is not None
        taken = select(t.CannedReply.id).where(
            t.CannedReply.tenant_id == tenant_id, t.CannedReply.title == title, t.CannedReply.id != reply_id
        )
        statement = (
            update(t.CannedReply)
            .where(t.CannedReply.id == reply_id, t.CannedReply.tenant_id == tenant_id, ~taken.exists())
            .values(**values, updated_at=func.now())
            .returning(t.CannedReply.id)
        )
        return await self.session.scalar(statement) is not None

    async def delete(self, tenant_id: int, reply_id: int) -> bool:
        statement = (
            delete(t.CannedReply)
            .where(t.CannedReply.id == reply_id, t.CannedReply.tenant_id == tenant_id)
            .returning(t.CannedReply.id)
        )
        return await self.session.scalar(statement) is not None


async def waiting(session: AsyncSession, tenant_id: int) -> list[tuple[t.Handoff, str | None]]:
    """The shop's conversations waiting for a person, oldest first, with their assignee's name (the list page)."""
    query = (
        select(t.Handoff, t.StaffUser.name)
        .outerjoin(t.StaffUser, t.StaffUser.id == t.Handoff.assigned_to)
        .where(t.Handoff.tenant_id == tenant_id, t.Handoff.resolved_at.is_(None))
        .order_by(t.Handoff.requested_at)
    )
    return [(row, name) for row, name in (await session.execute(query)).all()]
