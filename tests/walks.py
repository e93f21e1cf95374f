"""Conversation property tests: seeded random walks through the real bot, with invariants checked
after every turn.

A walk is K customer messages to one fresh sender, each drawn by weighted random choice (one
`random.Random(seed)` per walk) from per-intent pools in English, Swahili and Sheng. The weights
follow the conversation: while a form asks for something, answers to that question are likelier,
but detours, corrections, nonsense and leaving stay possible at every turn. Product names come
from the demo catalog (seed/demo-shop.csv); what the bot said is told apart by the response
templates of domain.yml, both read at run time.

After every turn (the REST channel answers synchronously; payment updates that come later are not
waited for) the walker checks:

1. a reply came (non-empty text), unless the conversation was handed to a person;
2. the bot did not ask the same question (a form's utter_ask_*, or "Which one do you mean?") in
   more than three replies in a row, whatever else they said: the same response template, or the
   same text once numbers are stripped;
3. the cart in the database is what the bot confirmed: added minus removed, emptied by "cleared"
   and by a placed order; and a search or a question (by the intent NLU read) changed nothing;
4. "checkout" / "nataka kulipa" and "stop" / "acha" make progress within two turns (said once,
   and once more if the first did not do it): after "stop" no form is active; after "checkout"
   the checkout form is active, the bot said the cart is empty, or an order was placed;
5. after a message `detect_language` calls Swahili (English), every reply that has distinct
   variations is the Swahili (English) one.

A walk stops at its first broken invariant, or after a hand-off to a person (the bot then stays
quiet by design). Used by tests/e2e/test_conversation_walks.py and, through it, devstack/walks.py.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any, Protocol

from ruamel.yaml import YAML
from sqlalchemy import select

from actions.commerce.language import detect_language
from actions.db import tables as t
from devstack.paths import DEMO_CATALOG, ROOT

DOMAIN = ROOT / "domain.yml"

INVARIANTS = {
    1: "a reply came",
    2: "no question asked more than three times in a row",
    3: "the cart is what the bot confirmed",
    4: "checkout and stop make progress within two turns",
    5: "the reply follows the customer's language",
}

# The responses whose sentences tell what happened to the cart (their wording comes from domain.yml).
ADDED = "utter_added_to_cart"
REMOVED = "utter_removed_from_cart"
CLEARED = "utter_cart_cleared"
PLACED = {"utter_mpesa_prompt_sent", "utter_card_link", "utter_payment_request_failed"}  # "Order … placed"
CART_EMPTY_AT_CHECKOUT = "utter_checkout_cart_empty"
HANDOFF = "utter_handoff"
# Intents that only ask or look: such a turn must leave the cart as it was.
QUESTION_INTENTS = {
    "search_product",
    "product_details",
    "browse_catalog",
    "view_cart",
    "help",
    "check_order_status",
    "payment_status",
}
REPEATS_ALLOWED = 3
LONG_REPLY = 10  # lines of a reply the transcript shows in full
CHOICE_QUESTIONS = {"utter_product_ambiguous"}  # questions besides the forms' utter_ask_* ones


# --- what the bot can say: domain.yml's response templates ----------------------------------------


@dataclass(frozen=True)
class Template:
    response: str
    language: str  # the variation's `language` condition; the unconditioned one is English
    text: str
    pattern: re.Pattern[str]

    def match(self, text: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(text)
        return found.groupdict() if found else None


def template_pattern(text: str) -> re.Pattern[str]:
    """The template's literal text, with each {placeholder} matching whatever the bot filled in."""
    parts, seen = [], set()
    for i, piece in enumerate(re.split(r"\{(\w+)\}", text)):
        if i % 2 == 0:
            parts.append(re.escape(piece))
        else:
            parts.append(f"(?P={piece})" if piece in seen else f"(?P<{piece}>.*?)")
            seen.add(piece)
    return re.compile("".join(parts), re.DOTALL)


def load_templates(domain: Path = DOMAIN) -> dict[str, list[Template]]:
    responses = YAML(typ="safe").load(domain.read_text())["responses"]
    templates: dict[str, list[Template]] = {}
    for name, variations in responses.items():
        for variation in variations:
            if not variation.get("text"):
                continue
            conditions = [c for c in variation.get("condition") or [] if c.get("name") == "language"]
            language = str(conditions[0]["value"]) if conditions else "en"
            text = variation["text"]
            templates.setdefault(name, []).append(Template(name, language, text, template_pattern(text)))
    return templates


@dataclass
class BotMessage:
    text: str
    response: str | None  # the response template, from Rasa's `utter_action` metadata or by matching
    slots: dict[str, str]  # what filled the template's placeholders
    languages: set[str]  # the variations the text matches: {"sw"}, {"en"}, both (cannot tell) or none

    @property
    def language(self) -> str | None:
        return next(iter(self.languages)) if len(self.languages) == 1 else None

    def is_question(self) -> bool:
        """A question that waits for its answer: a form's (utter_ask_*) or "Which one do you mean?"; for a
        text no template explains, a '?' outside the examples in quotes."""
        if self.response:
            return self.response.startswith("utter_ask_") or self.response in CHOICE_QUESTIONS
        return "?" in re.sub(r'"[^"]*"', "", self.text)


def read_message(text: str, utter_action: str | None, templates: dict[str, list[Template]]) -> BotMessage:
    candidates = templates.get(utter_action, []) if utter_action else [t for ts in templates.values() for t in ts]
    matches = [(template, slots) for template in candidates if (slots := template.match(text)) is not None]
    names = {template.response for template, _ in matches}
    response = utter_action or (next(iter(names)) if len(names) == 1 else None)
    slots = next((slots for template, slots in matches if template.response == response), {})
    return BotMessage(text, response, slots, {template.language for template, _ in matches})


def rest_messages(event: dict) -> list[str]:
    """The texts Rasa's REST channel makes of a bot event (CollectingOutputChannel.send_response): a text
    without buttons goes out paragraph by paragraph; an image or a custom payload is a message of its own."""
    text, data = event.get("text") or "", event.get("data") or {}
    with_choices = data.get("quick_replies") or data.get("buttons")
    parts = [text] if with_choices else (text.strip().split("\n\n") if text else [])
    return parts + ["" for key in ("custom", "image", "attachment", "elements") if data.get(key)]


# --- what the customer says --------------------------------------------------------------------

# {p}: a product, as customers name it; {n}: a number; {nw}: a number in Swahili words.
POOLS: dict[str, list[str]] = {
    "greet": ["hi", "hello", "niaje", "habari", "mambo", "sasa", "hey", "habari yako", "niaje buda", "good morning"],
    "browse": [
        "show me your products",
        "nionyeshe bidhaa",
        "what do you sell",
        "mna nini?",
        "menu pls",
        "show me dairy",
        "nionyeshe vinywaji",
        "wat do u have",
    ],
    "search": ["do you have {p}", "mna {p}?", "how much is {p}", "bei ya {p} ni ngapi", "{p} iko?", "una {p}"],
    "details": ["tell me about {p}", "nieleze kuhusu {p}", "more info on {p} pls", "{p} ni ya aina gani"],
    "add_quantity": [
        "add {n} {p}",
        "nataka {p} {nw}",
        "nipe {n} {p}",
        "i want {n} {p} pls",
        "weka {p} {n} kwa kikapu",
        "{n} {p}",
        "niletee {p} {nw}",
        "add {p} x{n}",
    ],
    "add": ["add {p}", "nataka {p}", "i want {p}", "nipe {p}", "buy {p}", "weka {p} kwenye kikapu"],
    "product_answer": ["{p}", "{p} pls", "ile {p}"],
    "pick": ["1", "2", "3"],
    # a pick from the list the bot showed last (after a search or "which one?"), with or without a count
    "reference": ["the second one", "ya kwanza", "2 of those", "hiyo ya pili", "the first one pls", "nipe ya tatu"],
    "quantity_answer": ["2", "mbili", "3", "1", "moja", "5 pcs", "tatu", "4"],
    "cart": ["my cart", "kikapu changu", "whats in my cart", "nionyeshe kikapu", "cart", "show cart pls"],
    "remove": ["remove {p}", "toa {p}", "ondoa {p} kwenye kikapu", "remove the {p} pls", "sitaki {p} tena"],
    "clear": ["clear my cart", "futa kikapu", "empty my cart"],
    "checkout": ["checkout", "nataka kulipa"],  # invariant 4
    "stop": ["stop", "acha"],  # invariant 4
    "leave": ["basi", "never mind", "sitaki", "forget it", "niache", "hapana asante"],
    "yes": ["yes", "ndio", "sawa", "ok", "yeah", "ndiyo"],
    "no": ["no", "hapana", "nope"],
    "location": [
        "Kilimani near Yaya",
        "Kasarani, karibu na stage",
        "Westlands",
        "Rongai opp Tuskys",
        "South B, Mukuru kwa Njenga",
        "ngong rd near prestige",
    ],
    "pay_method": ["mpesa", "lipa na mpesa", "card", "kadi", "M-Pesa", "pay with card"],
    "phone": ["0712345678", "0722 000 111", "+254712345678", "0798765432", "0712 345 1032", "12345"],
    "cancel_order": ["cancel my order", "ghairi oda yangu", "cancel order", "sitaki oda tena"],
    "order_status": ["where is my order", "oda yangu iko wapi", "my orders", "order status?"],
    "payment_status": ["did my payment go through", "nimelipa, imefika?", "payment status", "umepokea pesa?"],
    "help": ["help", "nisaidie", "what can you do", "msaada"],
    "thanks": ["asante", "thanks", "shukran", "thank you"],
    "bye": ["bye", "kwaheri", "tutaonana"],
    "nonsense": ["asdfgh", "😂", "??", "kkkk", "hmm", "sdfsdf", "👍"],
    "number": ["2", "5", "0", "100"],
    "handoff": ["talk to a person", "nataka kuongea na mtu"],  # the bot pauses: the walk ends here
}

BASE_WEIGHTS: dict[str, float] = {
    "greet": 3,
    "browse": 3,
    "search": 6,
    "details": 4,
    "add_quantity": 12,
    "add": 6,
    "cart": 5,
    "remove": 4,
    "clear": 1,
    "checkout": 5,
    "stop": 2,
    "leave": 3,
    "yes": 2,
    "no": 2,
    "location": 1,
    "pay_method": 1,
    "phone": 1,
    "cancel_order": 2,
    "order_status": 3,
    "payment_status": 2,
    "help": 2,
    "thanks": 1,
    "bye": 1,
    "nonsense": 4,
    "reference": 2,
    "number": 2,
    "handoff": 0.3,
}
# What answers the question a form asks (its requested slot).
ANSWERS: dict[str, dict[str, float]] = {
    "product": {"product_answer": 1},
    "quantity": {"quantity_answer": 1},
    "delivery_location": {"location": 1},
    "payment_method": {"pay_method": 1},
    "mpesa_phone": {"phone": 1},
    "order_confirmed": {"yes": 4, "no": 1},
}
ANSWER_SHARE = 0.6  # how often the customer answers the form's question rather than anything else
SWAHILI_NUMBERS = {1: "moja", 2: "mbili", 3: "tatu", 4: "nne", 5: "tano"}
SIZE = re.compile(r"\s+\d+(?:\.\d+)?\s*(?:kg|g|l|ml)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    aliases: tuple[str, ...] = ()  # the catalog's other names for it ("sukari", "unga wa ugali")

    def spoken_names(self) -> list[str]:
        """How customers name it: 'Unga wa Mahindi (Maize Flour) 2kg' -> 'unga wa mahindi maize flour 2kg',
        'unga wa mahindi 2kg', 'unga wa mahindi', 'maize flour', 'mahindi', and the catalog's aliases
        (the walker says the SKU now and then)."""
        base = re.sub(r"\s*\([^)]*\)", "", self.name).strip()
        bare = SIZE.sub("", base).strip()
        inner = [part for part in re.findall(r"\(([^)]*)\)", self.name) if not re.search(r"\d", part)]
        names = [self.name.replace("(", "").replace(")", ""), base, bare, *inner]
        if len(bare.split()) > 1:
            names.append(bare.split()[-1])
        return list(dict.fromkeys(name.lower() for name in [*names, *self.aliases] if name))


def load_catalog(path: Path = DEMO_CATALOG) -> list[Product]:
    with path.open(newline="") as f:
        return [
            Product(
                row["sku"], row["name"], tuple(a.strip() for a in (row.get("aliases") or "").split("|") if a.strip())
            )
            for row in csv.DictReader(f)
        ]


def typo(rng: Random, text: str) -> str:
    """Two neighbouring letters swapped in one longer word, as thumbs do."""
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    j = rng.randrange(len(words[i]) - 1)
    w = words[i]
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


# --- one walk ----------------------------------------------------------------------------------


class Bot(Protocol):
    async def say(self, sender: str, text: str) -> str: ...
    async def tracker(self, sender: str) -> dict: ...


CartReader = Callable[[str], Awaitable[dict[str, int]]]


def cart_reader(sessions: Callable[[], Any]) -> CartReader:
    """The cart as the database holds it, {product name: quantity}, for a conversation's sender."""

    async def cart_of(sender: str) -> dict[str, int]:
        async with sessions() as session:
            rows = await session.execute(
                select(t.Product.name, t.CartItem.quantity)
                .join(t.Cart, t.Cart.id == t.CartItem.cart_id)
                .join(t.Customer, t.Customer.id == t.Cart.customer_id)
                .join(t.Product, t.Product.id == t.CartItem.product_id)
                .where(t.Customer.external_id == sender)
            )
            counted: Counter[str] = Counter()
            for name, quantity in rows.all():
                counted[name] += quantity
            return dict(counted)

    return cart_of


@dataclass
class Turn:
    number: int
    pool: str
    text: str
    intent: str | None
    reply: str
    messages: list[BotMessage]
    form: str  # the active form after the turn, and what it asks for: "checkout_form/mpesa_phone"
    cart: dict[str, int]


@dataclass
class Violation:
    invariant: int
    turn: int
    detail: str

    def __str__(self) -> str:
        return f"invariant {self.invariant} ({INVARIANTS[self.invariant]}) broke at turn {self.turn}: {self.detail}"


@dataclass
class Walk:
    seed: int
    turns: int
    sender: str
    transcript: list[Turn] = field(default_factory=list)
    violation: Violation | None = None
    ended: str = ""  # why it stopped early: a broken invariant, a hand-off

    def replay(self) -> str:
        return (
            f"make test-conversations SEED={self.seed} TURNS={self.turns}   or   "
            f"WALK_SEEDS={self.seed} WALK_TURNS={self.turns} .venv/bin/pytest tests/e2e/test_conversation_walks.py"
        )

    def report(self) -> str:
        head = f"walk seed={self.seed} ({self.turns} turns, sender {self.sender})"
        lines = [f"{head}: {self.violation or 'kept every invariant'}", f"replay: {self.replay()}"]
        lines.append("transcript ([the intent NLU read, the walker's pool, the form active after the turn]):")
        for turn in self.transcript:
            where = f"NLU: {turn.intent}, walker: {turn.pool}, then {turn.form or 'no form'}"
            lines.append(f"  {turn.number:>2} customer: {turn.text}    [{where}]")
            said = turn.reply.split("\n")
            if len(said) > LONG_REPLY:  # a catalog: its first lines are enough
                said = [*said[: LONG_REPLY - 2], f"… ({len(said) - LONG_REPLY + 2} more lines)"]
            bot = "\n                ".join(said) if turn.reply else "(nothing)"
            lines.append(f"     bot:      {bot}")
        if self.ended:
            lines.append(f"  ({self.ended})")
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """What devstack/walks.py collects from each walk."""
        v = self.violation
        return {
            "seed": self.seed,
            "turns": self.turns,
            "walked": len(self.transcript),
            "invariant": v.invariant if v else None,
            "violation": str(v) if v else None,
            "report": self.report(),
        }


class WalkerError(Exception):
    """The walker could not read the turn (not a finding about the bot)."""


@dataclass
class Probe:
    pool: str  # "checkout" or "stop"
    said: list[str] = field(default_factory=list)


class Walker:
    def __init__(
        self,
        bot: Bot,
        cart_of: CartReader,
        catalog: list[Product] | None = None,
        templates: dict[str, list[Template]] | None = None,
    ) -> None:
        self.bot = bot
        self.cart_of = cart_of
        self.catalog = catalog or load_catalog()
        self.templates = templates or load_templates()

    async def walk(self, seed: int, turns: int, sender: str) -> Walk:
        return await _Walk(self, Random(seed), Walk(seed, turns, sender)).run()


class _Walk:
    """The state of one walk: the cart the bot confirmed, the questions it asked, a pending probe."""

    def __init__(self, walker: Walker, rng: Random, walk: Walk) -> None:
        self.w, self.rng, self.walk = walker, rng, walk
        self.expected: Counter[str] = Counter()
        self.in_database: dict[str, int] = {}
        self.tracker: dict = {}
        self.probe: Probe | None = None

    async def run(self) -> Walk:
        self.in_database = await self.w.cart_of(self.walk.sender)
        for number in range(1, self.walk.turns + 1):
            pool, text = self.next_message()
            turn = await self.say(number, pool, text)
            self.walk.transcript.append(turn)
            self.walk.violation = self.check(turn)
            if self.walk.violation:
                self.walk.ended = "stopped at the first broken invariant"
                break
            if self.tracker.get("paused"):
                self.walk.ended = "handed to a person: the bot stays quiet until staff hand it back"
                break
        return self.walk

    # --- choosing the next message ---

    def next_message(self) -> tuple[str, str]:
        if self.probe:  # the probe's second chance
            return self.probe.pool, self.rng.choice(POOLS[self.probe.pool])
        requested = (self.tracker.get("slots") or {}).get("requested_slot")
        answers = dict(ANSWERS.get(requested, {})) if self.active_form() else {}
        last = self.walk.transcript[-1].messages if self.walk.transcript else []
        if requested == "product" and any(m.response == "utter_product_ambiguous" for m in last):
            answers["pick"] = answers.get("product_answer", 1)
        if answers and self.rng.random() < ANSWER_SHARE:
            weights = answers
        else:
            weights = dict(BASE_WEIGHTS)
            if sum(self.expected.values()):
                weights["checkout"] += 4
            else:
                weights["remove"] = 1
        pools = list(weights)
        pool = self.rng.choices(pools, [weights[p] for p in pools])[0]
        return pool, self.fill(pool, self.rng.choice(POOLS[pool]))

    def fill(self, pool: str, template: str) -> str:
        text = template
        if "{p}" in text:
            text = text.replace("{p}", self.product_phrase(pool))
        if "{n}" in text or "{nw}" in text:
            n = self.rng.choices([1, 2, 3, 4, 5], [3, 4, 3, 1, 1])[0]
            text = text.replace("{nw}", SWAHILI_NUMBERS[n]).replace("{n}", str(n))
        return text

    def product_phrase(self, pool: str) -> str:
        in_cart = [p for p in self.w.catalog if p.name in self.expected]
        if pool == "remove" and in_cart and self.rng.random() < 0.8:
            product = self.rng.choice(in_cart)
        else:
            product = self.rng.choice(self.w.catalog)
        if self.rng.random() < 0.05:
            return product.sku
        name = self.rng.choice(product.spoken_names())
        return typo(self.rng, name) if self.rng.random() < 0.08 else name

    # --- one turn ---

    async def say(self, number: int, pool: str, text: str) -> Turn:
        reply = await self.w.bot.say(self.walk.sender, text)
        self.tracker = await self.w.bot.tracker(self.walk.sender)
        user, said = self.this_turn(text)
        messages = [
            read_message(e.get("text") or "", (e.get("metadata") or {}).get("utter_action"), self.w.templates)
            for e in said
        ]
        if "\n".join(part for event in said for part in rest_messages(event)) != reply:
            raise WalkerError(f"turn {number}: the tracker's bot events {messages!r} are not the reply {reply!r}")
        intent = ((user.get("parse_data") or {}).get("intent") or {}).get("name")
        cart = await self.w.cart_of(self.walk.sender)
        return Turn(number, pool, text, intent, reply, messages, self.form_state(), cart)

    def this_turn(self, text: str) -> tuple[dict, list[dict]]:
        """This message's user event and the bot's messages after it (a payment update may have come since)."""
        events = self.tracker.get("events") or []
        mine = [i for i, e in enumerate(events) if e.get("event") == "user" and (e.get("text") or "") == text.strip()]
        if not mine:
            raise WalkerError(f"the tracker of {self.walk.sender} has no message {text!r}")
        said = []
        for event in events[mine[-1] + 1 :]:
            if event.get("event") == "user":
                break
            if event.get("event") == "bot":
                said.append(event)
        return events[mine[-1]], said

    def active_form(self) -> str | None:
        return (self.tracker.get("active_loop") or {}).get("name")

    def form_state(self) -> str:
        form = self.active_form()
        requested = (self.tracker.get("slots") or {}).get("requested_slot")
        return f"{form}/{requested}" if form and requested else (form or "")

    # --- the invariants ---

    def check(self, turn: Turn) -> Violation | None:
        for invariant in (
            self.a_reply_came,
            self.no_question_repeated,
            self.the_cart_adds_up,
            self.progress,
            self.language,
        ):
            violation = invariant(turn)
            if violation:
                return violation
        return None

    def a_reply_came(self, turn: Turn) -> Violation | None:
        if turn.reply.strip() or self.tracker.get("paused"):
            return None
        return Violation(1, turn.number, f"no reply to {turn.text!r} (intent {turn.intent})")

    def no_question_repeated(self, turn: Turn) -> Violation | None:
        """The same question in more than three replies in a row, whatever else the replies said (a detour's
        answer, an error): the same response template, or the same text once numbers are stripped."""
        recent = self.walk.transcript[-(REPEATS_ALLOWED + 1) :]
        asked = [next((m for m in reversed(t.messages) if m.is_question()), None) for t in recent]
        if len(recent) <= REPEATS_ALLOWED or not all(asked):
            return None
        texts = {re.sub(r"\s+", " ", re.sub(r"\d+", "", m.text)).strip() for m in asked if m}
        templates = {m.response for m in asked if m}
        if len(texts) > 1 and (len(templates) > 1 or None in templates):
            return None
        what = next(iter(templates)) if len(templates) == 1 and None not in templates else repr(asked[-1].text)
        said = ", ".join(repr(t.text) for t in recent)
        return Violation(2, turn.number, f"the bot asked {what} {len(recent)} times in a row (to {said})")

    def the_cart_adds_up(self, turn: Turn) -> Violation | None:
        before = self.in_database
        self.in_database = turn.cart
        for m in turn.messages:
            if m.response == ADDED:
                try:
                    self.expected[m.slots["product"]] += int(m.slots["quantity"])
                except (KeyError, ValueError):
                    raise WalkerError(f"cannot read the addition in {m.text!r}") from None
            elif m.response == REMOVED and "product" in m.slots:
                self.expected.pop(m.slots["product"], None)
            elif m.response == CLEARED or m.response in PLACED:
                self.expected.clear()
        expected = {name: qty for name, qty in self.expected.items() if qty}
        if turn.intent in QUESTION_INTENTS and turn.cart != before:
            return Violation(3, turn.number, f"a {turn.intent} turn changed the cart from {before} to {turn.cart}")
        if turn.cart != expected:
            return Violation(
                3, turn.number, f"the bot's confirmations add up to {expected}, the database holds {turn.cart}"
            )
        return None

    def progress(self, turn: Turn) -> Violation | None:
        if self.probe is None and turn.pool not in ("checkout", "stop"):
            return None
        self.probe = self.probe or Probe(turn.pool)
        self.probe.said.append(turn.text)
        responses = {m.response for m in turn.messages}
        if self.probe.pool == "stop":
            done = not self.active_form()
        else:
            done = self.active_form() == "checkout_form" or bool(responses & (PLACED | {CART_EMPTY_AT_CHECKOUT}))
        if done or self.tracker.get("paused"):
            self.probe = None
            return None
        if len(self.probe.said) < 2:
            return None
        said, self.probe = " then ".join(repr(s) for s in self.probe.said), None
        if turn.pool == "stop":
            return Violation(4, turn.number, f"after {said} the form {self.active_form()} is still active")
        return Violation(4, turn.number, f"after {said}: no checkout form, no 'cart is empty', no order placed")

    def language(self, turn: Turn) -> Violation | None:
        wrote = detect_language(turn.text)
        if wrote is None or turn.intent == "change_language":
            return None
        wrong = [m for m in turn.messages if m.language and m.language != wrote]
        if not wrong:
            return None
        names = ", ".join(f"{m.response} ({m.language})" for m in wrong)
        return Violation(5, turn.number, f"the customer wrote {wrote} ({turn.text!r}); the bot answered with {names}")
