"""A small shop over the fakes, and the few steps most use-case tests start from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from actions.commerce import cart, orders, payment_requests
from actions.commerce.model import CustomerRef, Order, Tenant
from actions.commerce.money import Money
from actions.commerce.payments import CallbackCredentials, CheckPolicy, Notice, Payment, PaymentStatus, ProviderEvent
from actions.commerce.ports import StaffMember
from tests.fakes import FakeConversations, FakeProviders, FakeUnitOfWork, Told

PHONE = "254712345678"
RECEIPT = "QK71ABCXYZ"
ASKED = object()  # `World.callback`'s default amount: the payment's own
POLICY = CheckPolicy(
    first_check=timedelta(minutes=1), backoff=timedelta(minutes=1), max_checks=3, retry_window=timedelta(hours=1)
)


@dataclass
class World:
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    providers: FakeProviders = field(default_factory=FakeProviders)
    conversations: FakeConversations = field(default_factory=FakeConversations)

    def __post_init__(self) -> None:
        self.shop: Tenant = self.uow.add_shop("demo-shop", "Demo Shop", "KES")
        self.uow.add_product(self.shop, "SUGAR-1KG", "Sugar 1kg", 18000, stock=10)
        self.uow.add_product(self.shop, "SUGAR-2KG", "Sugar 2kg", 34000, stock=10)
        self.uow.add_product(self.shop, "EGGS-TRAY", "Eggs (tray of 30)", 45000, stock=3, category="Dairy & Eggs")
        self.uow.add_product(self.shop, "MILK-500ML", "Fresh Milk 500ml", 6000, stock=200, category="Dairy & Eggs")
        self.other_shop: Tenant = self.uow.add_shop("other-shop", "Other Shop", "KES")
        self.uow.add_product(self.other_shop, "SUGAR-1KG", "Sugar 1kg", 17500, stock=10)
        self.who = CustomerRef("demo-shop", "254700000001")
        self.staff = StaffMember(user_id=7, tenant_id=self.shop.id, email="amina@demo.shop")
        self.other_staff = StaffMember(user_id=8, tenant_id=self.other_shop.id, email="otieno@other.shop")

    @property
    def told(self) -> list[Told]:
        """The customers' messages the committed transactions queued."""
        return self.uow.committed.told

    def stock(self, sku: str) -> int:
        return self.uow.stock(sku, self.shop)

    async def order(self, *lines: tuple[str, int], who: CustomerRef | None = None) -> Order:
        """An order placed from a cart holding these (sku, quantity) lines."""
        who = who or self.who
        for sku, quantity in lines or (("SUGAR-1KG", 2),):
            await cart.add(self.uow, who, sku, quantity)
        return await orders.place(self.uow, who, "Kilimani")

    async def pending_payment(self, *lines: tuple[str, int], provider: str = "mpesa") -> tuple[Order, Payment]:
        order = await self.order(*lines)
        nonce = f"nonce-of-order-{order.id}-{'x' * 32}" if provider == "mpesa" else None
        payment = await payment_requests.start(
            self.uow,
            order.id,
            provider,
            f"ws_CO_{order.id}",
            order.total,
            PHONE,
            POLICY.first_check,
            callback_nonce=nonce,
        )
        return order, payment

    def url_of(self, payment: Payment) -> CallbackCredentials:
        """The callback URL the payment was given, as a callback to it would carry it."""
        shop = self.uow.committed.tenants[payment.tenant_id]
        return CallbackCredentials(payment.tenant_id, shop.callback_secret, payment.callback_nonce)

    def callback(
        self,
        payment: Payment,
        result_code: int = 0,
        *,
        amount: Money | object | None = ASKED,
        receipt: str | None = RECEIPT,
        url: CallbackCredentials | None = None,
    ) -> ProviderEvent:
        """An M-Pesa callback to the payment's own URL (unless `url` says otherwise): a claim. A success
        carries by default the Amount asked for and a MpesaReceiptNumber; `amount=None`: no Amount item."""
        meaning = {0: (PaymentStatus.PAID, Notice.MPESA_PAID), 1032: (PaymentStatus.CANCELLED, Notice.MPESA_CANCELLED)}
        outcome, notice = meaning[result_code]
        url = url or self.url_of(payment)
        success = result_code == 0
        return ProviderEvent(
            provider="mpesa",
            key=f"callback:{result_code}",
            reference=payment.reference,
            outcome=outcome,
            kind="stk_callback",
            amount=(payment.amount if amount is ASKED else amount) if success else None,
            tenant_id=url.tenant_id,
            notice=notice,
            needs_confirmation=True,
            receipt=receipt if success else None,
            credentials=url,
        )


def event(
    payment: Payment,
    outcome: PaymentStatus = PaymentStatus.PAID,
    key: str | None = None,
    *,
    amount: Money | None = None,
    tenant_id: int | None = None,
    notice: Notice | None = Notice.MPESA_PAID,
    kind: str = "reconciliation",
) -> ProviderEvent:
    """What a provider itself answered about a payment when asked (by default: paid, in full, to a query)."""
    return ProviderEvent(
        provider=payment.provider,
        key=key or f"query:{outcome.value}",
        reference=payment.reference,
        outcome=outcome,
        kind=kind,
        amount=payment.amount if amount is None else amount,
        tenant_id=tenant_id,
        notice=notice,
    )
