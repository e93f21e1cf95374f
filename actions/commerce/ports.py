"""What the use cases need from the world: storage (`UnitOfWork`, implemented over PostgreSQL in
`actions.db`, with its `Outbox` of jobs in `actions.jobs`), payment providers (`actions.payments`),
the conversations (Rasa's HTTP API, `actions.rasa_api`; their stored events, `actions.db.conversations`)
and the training files (`actions.training_files`). Tests use in-memory versions (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from actions.commerce.catalog_csv import CatalogRow
from actions.commerce.model import (
    Cart,
    CatalogEntry,
    Category,
    NewOrder,
    Order,
    OrderNotice,
    OrderStatus,
    Product,
    ProductChanges,
    Tenant,
)
from actions.commerce.money import Money
from actions.commerce.nlu_examples import TrainingSet
from actions.commerce.payments import (
    CallbackSecrets,
    CheckPolicy,
    DueCheck,
    Notice,
    Payment,
    PaymentStatus,
    ProviderEvent,
    RejectCaps,
    Rejected,
)

if TYPE_CHECKING:
    from actions.commerce.reminders import IdleCart, ReminderSettings


class Tenants(Protocol):
    async def by_slug(self, slug: str) -> Tenant | None: ...

    async def by_id(self, tenant_id: int) -> Tenant | None: ...

    async def by_whatsapp_number(self, phone_number_id: str) -> Tenant | None: ...

    async def callback_secrets(self, tenant_id: int) -> CallbackSecrets | None:
        """The shop's M-Pesa callback secret, the one before its last rotation, and when that was."""
        ...

    async def rotate_callback_secret(self, tenant_id: int, secret: str, unless_within: timedelta | None) -> bool:
        """`secret` becomes the shop's callback secret and the current one its previous; False (nothing
        changed) when the last rotation was less than `unless_within` ago."""
        ...

    async def set_api_token_hash(self, tenant_id: int, token_hash: str) -> None: ...

    async def set_whatsapp_number(self, tenant_id: int, phone_number_id: str | None) -> bool:
        """The shop's WhatsApp number (Meta's phone number id), or none; False when there is no such shop."""
        ...

    async def ensure(self, slug: str, name: str, currency: str) -> Tenant:
        """The shop called `slug`, created (with its M-Pesa callback secret) if it is new."""
        ...


class Customers(Protocol):
    async def get_or_create(self, tenant_id: int, external_id: str) -> int: ...


class Catalog(Protocol):
    async def categories(self, tenant_id: int) -> list[Category]: ...

    async def products(self, tenant_id: int, category: str | None, limit: int) -> list[Product]: ...

    async def search(self, tenant_id: int, text: str, limit: int) -> list[Product]: ...

    async def everything(self, tenant_id: int) -> list[Product]:
        """Every visible product of the shop, for matching a customer's words against the catalog."""
        ...

    async def by_sku(self, tenant_id: int, sku: str) -> Product | None: ...

    async def reserve(self, product_id: int, quantity: int) -> bool:
        """Take `quantity` from stock if that much is there and the product is visible; atomic against other orders."""
        ...

    async def release(self, product_id: int, quantity: int) -> None: ...

    async def save_category(self, tenant_id: int, slug: str, name: str) -> int:
        """Insert or rename the category; its id."""
        ...

    async def save_product(self, tenant_id: int, category_id: int, row: CatalogRow) -> None:
        """Insert or update the product with the row's SKU, visible."""
        ...

    async def entry(self, tenant_id: int, product_id: int, *, for_update: bool = False) -> CatalogEntry | None:
        """The shop's product, hidden or not (its row locked until the transaction ends, `for_update`);
        None if the shop has no such product."""
        ...

    async def change(self, product_id: int, changes: ProductChanges) -> None: ...


class Carts(Protocol):
    async def get(self, tenant: Tenant, customer_id: int) -> Cart: ...

    async def set_quantity(self, tenant_id: int, customer_id: int, product_id: int, quantity: int) -> None:
        """Quantity 0 removes the line."""
        ...

    async def clear(self, customer_id: int) -> None: ...


class Orders(Protocol):
    async def add(self, order: NewOrder) -> Order: ...

    async def for_customer(self, customer_id: int, limit: int) -> list[Order]: ...

    async def by_number(self, customer_id: int, number: str, *, for_update: bool = False) -> Order | None: ...

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None: ...

    async def of_shop(self, tenant_id: int, number: str) -> Order | None:
        """The shop's order with this number (None for another shop's)."""
        ...

    async def recipient(self, order_id: int) -> OrderRecipient | None:
        """Whom to tell about the order's step: the customer's conversation, its number, its status, and the
        status they were last told of."""
        ...

    async def mark_told(self, order_id: int, status: OrderStatus) -> None:
        """Note that the customer was told the order reached `status`."""
        ...

    async def move(self, order_id: int, was: OrderStatus, becomes: OrderStatus) -> bool:
        """The order's status becomes `becomes` if it is `was` (its row locked until the transaction ends);
        False, and nothing changed, if it is not."""
        ...

    async def set_status(self, order_id: int, status: OrderStatus) -> None: ...

    async def abandoned(self, older_than_minutes: float, limit: int) -> list[int]:
        """Unpaid orders older than that with no payment still pending (cancelled, failed, never started)."""
        ...

    async def touch(self, order_id: int) -> None:
        """Note that something happened to the order now (a payment was asked for): it is not abandoned."""
        ...


class Payments(Protocol):
    async def add(
        self,
        order_id: int,
        provider: str,
        reference: str,
        amount: Money,
        phone: str | None,
        first_check: timedelta,
        callback_nonce: str | None = None,
        account_id: int | None = None,
    ) -> Payment: ...

    async def by_reference_with_keys(self, provider: str, reference: str) -> tuple[Payment, frozenset[str]] | None:
        """The payment and the keys its ledger holds (committed ones), in one round trip: a repeated
        delivery is answered from them without a write."""
        ...

    async def pending_for_order(self, order_id: int) -> bool:
        """Whether a payment for the order is still waiting for the provider (so no second prompt)."""
        ...

    async def pending_of_order(self, order_id: int) -> list[Payment]:
        """The order's payments still waiting for their provider, oldest first."""
        ...

    async def record_event(self, payment_id: int, event: ProviderEvent) -> Payment | None:
        """Append the event to the payment's ledger under `EventKey.ledger(provider, payment_id, event.key)`
        and lock the payment (SELECT … FOR UPDATE) until the transaction ends, in one round trip: the
        payment as it is once locked. None when that key was recorded before (nothing written, nothing locked)."""
        ...

    async def update(
        self, payment_id: int, *, status: PaymentStatus | None = None, flag: bool = False, check_now: bool = False
    ) -> None:
        """One write for what an event changes: its new status, a flag for a person to look at it (money
        after the end, an amount that does not match, a refund), its next provider check due at once (a
        doubtful callback)."""
        ...

    async def claim_due(self, limit: int, policy: CheckPolicy) -> list[DueCheck]:
        """Pending payments whose next check is due; each one's next check moves back by the policy's
        delay in the same transaction, so a worker that dies mid-check delays a check but never loses it."""
        ...

    async def recipient(self, payment_id: int) -> PaymentRecipient | None:
        """Whom to tell about a payment: the customer's conversation, the order number, the status, and
        whether they were told how it ended."""
        ...

    async def mark_told(self, payment_id: int) -> None:
        """Note that the customer was told how the payment ended (the first time only)."""
        ...

    async def by_id(self, payment_id: int) -> Payment | None: ...

    async def lock_of_order(self, order_id: int) -> list[Payment]:
        """The order's payments, locked (SELECT … FOR UPDATE, oldest first) until the transaction ends."""
        ...


class RejectedMessages(Protocol):
    async def keep(self, message: Rejected, caps: RejectCaps) -> bool:
        """Store the message outside the ledger; an unsigned one only while its source address and all
        sources together are under `caps` this hour (False: over a cap, only counted)."""
        ...


class Handoffs(Protocol):
    async def request(self, tenant_id: int, conversation_id: str, customer_text: str) -> None:
        """Note a conversation as waiting for a person (once, however often it is asked)."""
        ...

    async def waiting(self, handoff_id: int) -> Handoff | None:
        """The hand-off, if it is still waiting for a person."""
        ...

    async def resolve(self, handoff_id: int, staff_user_id: int) -> None: ...

    async def get(self, handoff_id: int) -> Handoff | None:
        """The hand-off, waiting or resolved, with its assignee's name."""
        ...

    async def is_waiting(self, tenant_id: int, conversation_id: str) -> bool:
        """Whether the conversation waits for a person (the bot must stay quiet in it)."""
        ...

    async def add_reply(self, handoff: Handoff, staff: StaffMember, staff_name: str, text: str) -> StaffReply:
        """Store what staff wrote, and make them the hand-off's assignee."""
        ...

    async def reply(self, reply_id: int) -> StaffReply | None: ...

    async def undelivered(self, conversation_id: str) -> list[StaffReply]:
        """The conversation's staff replies not yet taken by the bot, oldest first."""
        ...

    async def mark_delivered(self, reply_id: int) -> None: ...


class CannedReplies(Protocol):
    async def of_shop(self, tenant_id: int) -> list[CannedReply]:
        """The shop's canned replies by title."""
        ...

    async def save(self, tenant_id: int, reply_id: int | None, title: str, text_en: str, text_sw: str) -> bool:
        """Add one (reply_id None) or change the shop's reply_id; False when another of its replies has
        this title (nothing changed)."""
        ...

    async def delete(self, tenant_id: int, reply_id: int) -> bool: ...


class Staff(Protocol):
    async def save(self, tenant_id: int, email: str, name: str, password_hash: str, role: str | None = None) -> None:
        """Create the staff member, or give them this name and password and make them active again."""
        ...

    async def active(self, email: str) -> StaffAccount | None:
        """The active staff member with this (lower-case) e-mail, with their shop."""
        ...

    async def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        """Store `new_hash` for the same password, unless the password changed since `old_hash` was read."""
        ...


class StaffInvites(Protocol):
    async def add(self, invite: NewInvite, token_hash: str, expires_in: timedelta) -> None: ...

    async def take(self, token_hash: str) -> Invite | None:
        """The invite with this token, still unused and unexpired, now marked used (locked until commit)."""
        ...

    async def find(self, token_hash: str) -> Invite | None:
        """The invite with this token while it is unused and unexpired; nothing changes."""
        ...


class ShopStaff(Protocol):
    """A shop's staff as its owner manages them."""

    async def of_shop(self, tenant_id: int) -> list[StaffListing]: ...

    async def set_role(self, tenant_id: int, user_id: int, role: str) -> bool: ...

    async def set_active(self, tenant_id: int, user_id: int, active: bool) -> bool: ...


class PaymentAccounts(Protocol):
    async def current(self, tenant_id: int, provider: str) -> StoredAccount | None: ...

    async def by_id(self, account_id: int) -> StoredAccount | None: ...

    async def replace(
        self, tenant_id: int, provider: str, settings: dict[str, str], sealed: str, created_by: int | None
    ) -> int:
        """A new current account of the shop for `provider`; the one before stays, inactive, for its payments."""
        ...

    async def deactivate(self, tenant_id: int, provider: str) -> bool: ...

    async def every_sealed(self) -> list[tuple[int, str]]: ...

    async def reseal(self, account_id: int, was: str, sealed: str) -> bool: ...


class Sealer(Protocol):
    """Encrypts a shop's secrets at rest (actions.payments.secret_box)."""

    def seal(self, secrets: dict[str, str]) -> str: ...

    def open(self, sealed: str) -> dict[str, str]: ...

    def reseal(self, sealed: str) -> str: ...


class Audit(Protocol):
    async def write(self, staff: StaffMember, action: str, subject: str, reason: str = "", **details: object) -> None:
        """Append what a staff member did and why (the log is append-only)."""
        ...


class Reminders(Protocol):
    async def settings(self, tenant_id: int) -> ReminderSettings: ...

    async def save_settings(self, tenant_id: int, wanted: ReminderSettings) -> None: ...

    async def idle_carts(self, heard_since: datetime, limit: int) -> list[IdleCart]:
        """Carts with items, of shops with reminders on and customers who did not opt out and wrote
        since `heard_since`, whose current version was not reminded of yet."""
        ...

    async def cart(self, cart_id: int) -> IdleCart | None:
        """The cart as a reminder job sees it (whatever the shop's setting now: None when it is off)."""
        ...

    async def claim(self, cart_id: int, version: int) -> bool:
        """Note that `version` of the cart is being reminded of, unless it changed or was claimed
        already (by another sweep: the row's lock makes the second one wait and then see it)."""
        ...

    async def mark_sent(self, cart_id: int, version: int) -> None: ...

    async def heard_from(self, customer_id: int, at: datetime, language: str | None) -> None:
        """The customer's latest message, and their language when it is known."""
        ...

    async def opt_out(self, customer_id: int, at: datetime) -> None: ...


class Outbox(Protocol):
    """Work for the worker, written in the unit of work's own transaction: it exists once that
    transaction commits, and never if it rolls back."""

    async def tell_customer(self, payment: Payment, notice: Notice, correlation_id: str | None = None) -> None:
        """The customer's message about how a payment ended, queued once per payment ending (a second
        one for the same payment while the first waits changes nothing)."""
        ...

    async def tell_order(self, order: Order, notice: OrderNotice, reason: str = "") -> None:
        """The customer's message about the order's new step (with staff's reason for a cancellation); one
        order's messages are delivered in the order they were queued."""
        ...

    async def remind_cart(self, cart_id: int, version: int) -> None:
        """The reminder of one version of a cart (queued once: a second one changes nothing)."""
        ...

    async def send_reply(self, reply: StaffReply) -> None:
        """A staff reply for the worker to deliver; one conversation's replies go out one at a time, in order."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    tenants: Tenants
    customers: Customers
    catalog: Catalog
    carts: Carts
    orders: Orders
    payments: Payments
    rejected: RejectedMessages
    handoffs: Handoffs
    canned_replies: CannedReplies
    staff: Staff
    shop_staff: ShopStaff
    invites: StaffInvites
    payment_accounts: PaymentAccounts
    audit: Audit
    reminders: Reminders
    outbox: Outbox

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


# --- beyond storage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentRecipient:
    conversation_id: str
    order_number: str
    status: PaymentStatus
    told: bool = False  # the customer heard how the payment ended already


@dataclass(frozen=True)
class OrderRecipient:
    conversation_id: str
    order_number: str
    status: OrderStatus
    told: OrderStatus | None = None  # the last step the customer heard of


@dataclass(frozen=True)
class Handoff:
    id: int
    tenant_id: int
    conversation_id: str
    waiting: bool = True
    reason: str = ""  # the customer's words when they asked for a person
    requested_at: datetime | None = None
    assignee: str | None = None  # the name of the staff member who answered last


@dataclass(frozen=True)
class StaffReply:
    id: int
    tenant_id: int
    handoff_id: int
    conversation_id: str
    staff_name: str
    text: str
    created_at: datetime | None = None
    delivered: bool = False


@dataclass(frozen=True)
class CannedReply:
    id: int
    title: str
    text_en: str
    text_sw: str

    def text(self, language: str) -> str:
        return self.text_sw if language == "sw" else self.text_en


@dataclass(frozen=True)
class StaffAccount:
    """A staff member who may sign in: their shop, and the hash their password is checked against."""

    user_id: int
    tenant_id: int
    tenant_name: str
    email: str
    name: str
    password_hash: str
    role: str = "staff"


@dataclass(frozen=True)
class StaffListing:
    user_id: int
    email: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True)
class NewInvite:
    tenant_id: int
    email: str
    name: str
    role: str
    created_by: int | None


@dataclass(frozen=True)
class Invite(NewInvite):
    id: int = 0
    tenant_name: str = ""


@dataclass(frozen=True)
class StoredAccount:
    """A shop's own payment account as stored: `settings` in the clear, `sealed` encrypted."""

    id: int
    tenant_id: int
    provider: str
    settings: dict[str, str]
    sealed: str = field(repr=False)


@dataclass(frozen=True)
class StaffMember:
    """Who is acting in the admin pages, and for which shop."""

    user_id: int
    tenant_id: int
    email: str
    role: str = "staff"  # operator (platform staff), owner or staff


@dataclass(frozen=True)
class PaymentAsk:
    """What a provider needs to ask a customer for an order's money."""

    tenant: Tenant
    order: Order
    customer_id: str  # the conversation's sender id (on WhatsApp, `<phone number id>:<wa_id>`)
    phone: str | None  # the M-Pesa number, normalised; None for card payments
    callback_secret: str | None  # the shop's secret in the M-Pesa callback URL
    callback_nonce: str | None = None  # this payment's own secret in the M-Pesa callback URL


@dataclass(frozen=True)
class Requested:
    """The provider took the request: its reference for the payment, and a page to pay on (cards)."""

    reference: str
    authorization_url: str | None = None
    account_id: int | None = None  # the shop's own account it was asked with; None: the platform's


class PaymentProvider(Protocol):
    name: str

    async def request(self, ask: PaymentAsk) -> Requested:
        """Ask the customer for the money; PaymentUnavailable when the provider cannot be asked."""
        ...

    async def check(self, payment: Payment, kind: str) -> ProviderEvent | None:
        """The provider's word on a payment now, as an event of `kind`; None while it has no final answer."""
        ...


class PaymentProviders(Protocol):
    def get(self, name: str) -> PaymentProvider:
        """The provider called `name`, configured; PaymentUnavailable otherwise."""
        ...

    def paid_notice(self, name: str) -> Notice:
        """What a customer is told when staff confirm a payment of this provider by hand (configured or not)."""
        ...

    def for_method(self, method: str) -> PaymentProvider:
        """The provider that takes a payment method the customer chose ("mpesa", "card")."""
        ...


class Conversations(Protocol):
    async def resume(self, conversation_id: str) -> None:
        """The bot answers this conversation again; ConversationsUnreachable if the bot cannot be reached."""
        ...

    async def payment_update(self, recipient: PaymentRecipient, notice: Notice) -> None: ...

    async def order_update(self, recipient: OrderRecipient, notice: OrderNotice, reason: str) -> None: ...

    async def cart_reminder(self, conversation_id: str, language: str | None) -> None:
        """Remind the customer of their cart, in their conversation (in `language` if Rasa knows none)."""
        ...

    async def say(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> None:
        """Send the customer `text` as the bot's message, on the channel they last used, whether or not the bot
        is paused there; ConversationsUnreachable if the bot cannot be reached."""
        ...


@dataclass(frozen=True)
class Conversation:
    id: str
    events: list[dict[str, Any]]  # Rasa's event dicts, oldest first
    source: str  # "live" (Redis) or "archive" (PostgreSQL)

    @property
    def tenant(self) -> str | None:
        """The shop, from the conversation's `tenant` slot (set at every session start)."""
        values = [e.get("value") for e in self.events if e.get("event") == "slot" and e.get("name") == "tenant"]
        return next((v for v in reversed(values) if v), None)


class ConversationSource(Protocol):
    async def one(self, conversation_id: str, last: int) -> list[dict[str, Any]]:
        """The conversation's stored events, oldest first: its live session whole and the last `last`
        archived events before it."""
        ...

    async def since(self, moment: datetime | None) -> list[Conversation]:
        """Every conversation with events since `moment` (all of them for None), the live sessions and
        the archived ones apart: each with its events from then on (earlier ones may come too) and the
        `tenant` slot events that say whose shop it is."""
        ...


class TrainingData(Protocol):
    async def current(self) -> TrainingSet:
        """The domain's intents, every training file's examples and the held-out test messages."""
        ...

    async def change(self, language: str, edit: Callable[[str, str], str]) -> str:
        """Replace the language's NLU file (data/nlu/<language>.yml) with `edit(text, file name)`, one
        change at a time; Refused if the result is not the YAML Rasa reads. Returns the file's name."""
        ...
