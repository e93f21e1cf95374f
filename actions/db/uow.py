"""The unit of work over one AsyncSession: one transaction per `async with`."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.commerce.ports import Outbox
from actions.db import inbox, reminders, repositories, shop_repositories
from actions.db.cache import ReadCache

OutboxOn = Callable[[AsyncSession], Outbox]  # the outbox writing in a session's transaction (actions/jobs.py)


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: ReadCache | None, outbox: OutboxOn) -> None:
        self._sessions = sessions
        self._cache = cache
        self._outbox = outbox
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.tenants = repositories.Tenants(self._session)
        self.customers = repositories.Customers(self._session)
        self.catalog = (
            repositories.CachedCatalog(self._session, self._cache)
            if self._cache
            else repositories.Catalog(self._session)
        )
        self.carts = repositories.Carts(self._session)
        self.orders = repositories.Orders(self._session)
        self.payments = repositories.Payments(self._session)
        self.rejected = repositories.RejectedMessages(self._session)
        self.handoffs = inbox.Handoffs(self._session)
        self.canned_replies = inbox.CannedReplies(self._session)
        self.staff = repositories.Staff(self._session)
        self.shop_staff = shop_repositories.ShopStaff(self._session)
        self.invites = shop_repositories.StaffInvites(self._session)
        self.payment_accounts = shop_repositories.PaymentAccounts(self._session)
        self.audit = repositories.Audit(self._session)
        self.reminders = reminders.Reminders(self._session)
        self.outbox = self._outbox(self._session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()  # a no-op after commit()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "use the unit of work inside `async with`"
        return self._session
