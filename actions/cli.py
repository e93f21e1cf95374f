"""Command-line tools for merchants and operators.

python -m actions.cli import-catalog seed/demo-shop.csv --tenant demo-shop --name "Demo Shop" --currency KES
python -m actions.cli add-staff demo-shop amina@example.com --name Amina --role owner  (asks, or STAFF_PASSWORD)
python -m actions.cli reseal-shop-secrets   (after putting a new key first in SHOP_SECRETS_KEY)
python -m actions.cli new-secrets-key       (prints a new Fernet key for SHOP_SECRETS_KEY)
python -m actions.cli api-token demo-shop
python -m actions.cli rotate-callback-secret demo-shop   (new M-Pesa callback secret; payments in flight keep theirs)
python -m actions.cli handback <conversation id>
python -m actions.cli review [--since 7d] [--limit 50] [--tenant demo-shop]   (messages the bot was unsure about)
python -m actions.cli review [--since 7d] add <id> --intent search_product [--language en|sw]   (one as an example)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.exc import ProgrammingError

from actions import runtime
from actions.commerce import payment_requests, review, roles, shop_accounts, staff
from actions.commerce.catalog_csv import CatalogFileError, parse_catalog
from actions.commerce.catalog_import import CurrencyMismatch, import_catalog, shop_exists
from actions.commerce.errors import ConversationsUnreachable, NotFound, PaymentUnavailable, Refused, UnknownTenant
from actions.commerce.language import LANGUAGES
from actions.commerce.money import MoneyError, exponent
from actions.commerce.passwords import WeakPassword
from actions.payments import secret_box
from actions.rasa_api import RasaConversations
from actions.settings import Settings


async def _import(args: argparse.Namespace) -> int:
    try:
        exponent(args.currency)
        rows = parse_catalog(await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8"), args.currency)
    except (CatalogFileError, MoneyError) as e:
        print(f"{args.file}: nothing imported.\n{e}", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as e:
        print(f"{args.file}: cannot read it as UTF-8 text: {e}", file=sys.stderr)
        return 1
    rt = await runtime.start(args.settings)
    try:
        if args.only_if_new and await shop_exists(rt.uow(), args.tenant):
            print(f"{args.tenant}: already loaded, left as it is")
            return 0
        result = await import_catalog(rt.uow(), args.tenant, args.name or args.tenant, args.currency, rows)
    except CurrencyMismatch as e:
        print(f"{args.file}: nothing imported. {e}", file=sys.stderr)
        return 1
    except ProgrammingError as e:
        return _no_schema(e)
    finally:
        await runtime.stop()
    print(f"{result.tenant}: {result.products} products in {result.categories} categories imported from {args.file}")
    return 0


def _no_schema(e: ProgrammingError) -> int:
    if "UndefinedTable" not in repr(e.orig):
        raise e
    print("The database has no commerce schema yet: run `make migrate` (alembic upgrade head).", file=sys.stderr)
    return 1


async def _handback(args: argparse.Namespace) -> int:
    """Resume a conversation a person took over: the bot answers the customer again."""
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            await RasaConversations(client, args.rasa_url or args.settings.rasa_url, args.settings.rasa_token).resume(
                args.conversation
            )
        except ConversationsUnreachable as e:
            print(e, file=sys.stderr)
            return 1
    print(f"{args.conversation}: handed back to the bot")
    return 0


async def _add_staff(args: argparse.Namespace) -> int:
    password = args.settings.staff_password or getpass.getpass(f"Password for {args.email}: ")
    rt = await runtime.start(args.settings)
    try:
        await staff.set_staff(rt.uow(), args.tenant, args.email, args.name or args.email, password, args.role)
    except (UnknownTenant, WeakPassword) as e:
        print(f"not saved: {e}", file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(f"{args.email} can sign in to the admin pages of {args.tenant} (/admin/ on the sidecar)")
    return 0


async def _reseal(args: argparse.Namespace) -> int:
    rt = await runtime.start(args.settings)
    try:
        changed = await shop_accounts.reseal_all(rt.uow(), rt.sealer)
    except PaymentUnavailable as e:
        print(f"not resealed: {e}", file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(f"{changed} shop payment accounts sealed with the first key of SHOP_SECRETS_KEY; the others can go now")
    return 0


async def _new_key(args: argparse.Namespace) -> int:
    print(secret_box.new_key())
    return 0


async def _api_token(args: argparse.Namespace) -> int:
    rt = await runtime.start(args.settings)
    try:
        token = await staff.new_api_token(rt.uow(), args.tenant)
    except UnknownTenant as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(token)
    print(f"(the order API token of {args.tenant}; shown once, the previous one no longer works)", file=sys.stderr)
    return 0


async def _rotate_callback_secret(args: argparse.Namespace) -> int:
    rt = await runtime.start(args.settings)
    window = args.settings.check_policy.retry_window
    try:
        await payment_requests.rotate_callback_secret(rt.uow(), args.tenant, window, force=args.force)
    except (UnknownTenant, Refused) as e:
        print(f"not rotated: {e}", file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(
        f"{args.tenant}: new M-Pesa callback secret. Payments asked for before keep their URL, and their callbacks "
        "are still taken; new payments get the new one."
    )
    return 0


def _print_review(groups: list[review.Group], moment: datetime | None, below: float) -> None:
    items = sum(len(g.items) for g in groups)
    when = f"since {moment:%Y-%m-%d %H:%M} UTC" if moment else "in every stored conversation"
    print(f"Messages the bot was unsure about {when} (confidence below {below:g}): {items} in {len(groups)} groups")
    for group in groups:
        print(f"\n{group.intent} ({group.count})")
        for item in group.items:
            others = ", ".join(f"{g.intent} {g.confidence:.2f}" for g in item.runners_up)
            said = f"{item.count}x, last {item.last_seen:%Y-%m-%d %H:%M} in {', '.join(sorted(item.conversations))}"
            print(f"  {item.id}  {item.shown!r}  {item.guess.confidence:.2f}" + (f" (then {others})" if others else ""))
            print(f"            {', '.join(sorted(item.reasons))}; {item.language or 'language?'}; {said}")
            if item.held_out:
                print(f"            in the held-out test set ({item.held_out}): it cannot be added")
    if groups:
        print("\nAdd one: python -m actions.cli review add <id> --intent <intent> [--language en|sw]")


async def _review(args: argparse.Namespace) -> int:
    if args.review_command == "add":
        return await _review_add(args)
    below, moment = args.settings.review_confidence_below, review.since(args.since, datetime.now(UTC))
    rt = await runtime.start(args.settings)
    try:
        groups = await review.review(rt.stored_conversations, rt.training, below, moment, args.tenant, args.limit)
    except ProgrammingError as e:
        return _no_schema(e)
    finally:
        await runtime.stop()
    _print_review(groups, moment, below)
    return 0


async def _review_add(args: argparse.Namespace) -> int:
    below, moment = args.settings.review_confidence_below, review.since(args.since, datetime.now(UTC))
    rt = await runtime.start(args.settings)
    try:
        added = await review.add_example(
            rt.stored_conversations, rt.training, below, args.id, args.intent, args.language, args.tenant, moment
        )
    except (NotFound, Refused) as e:
        print(f"not added: {e}", file=sys.stderr)
        return 1
    except ProgrammingError as e:
        return _no_schema(e)
    finally:
        await runtime.stop()
    print(f"Added {added.example!r} to {added.intent} in {added.file}. Retrain and try it: make chat")
    return 0


def _since(text: str) -> str:
    try:
        review.since(text, datetime.now(UTC))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import-catalog", help="create or update a shop's products from a CSV file")
    load.add_argument("file", help="CSV with columns sku,name,category,price,stock[,description,image_url]")
    load.add_argument("--tenant", required=True, help="the shop's short name, e.g. demo-shop")
    load.add_argument("--name", help="the shop's display name (used when the shop is created)")
    load.add_argument("--currency", default="KES", help="ISO code the prices are in (default KES)")
    load.add_argument("--only-if-new", action="store_true", help="do nothing if the shop already exists")
    back = commands.add_parser("handback", help="let the bot answer a conversation a person took over")
    back.add_argument("conversation", help="the conversation id (on WhatsApp, the customer's number)")
    back.add_argument("--rasa-url", help="the Rasa server (default RASA_URL)")
    member = commands.add_parser("add-staff", help="create a staff member of a shop (or set a new password)")
    member.add_argument("tenant", help="the shop's short name, e.g. demo-shop")
    member.add_argument("email")
    member.add_argument("--name", help="shown in the admin pages (default: the e-mail)")
    member.add_argument(
        "--role", choices=roles.ROLES, help="operator (platform staff: creates shops), owner or staff (default: "
        "staff when new, unchanged otherwise)",
    )  # fmt: skip
    commands.add_parser(
        "reseal-shop-secrets", help="encrypt shops' payment secrets again with SHOP_SECRETS_KEY's first key"
    )
    commands.add_parser("new-secrets-key", help="print a new key for SHOP_SECRETS_KEY")
    token = commands.add_parser("api-token", help="print a new order-API token for a shop (the old one stops)")
    token.add_argument("tenant")
    rotate = commands.add_parser(
        "rotate-callback-secret", help="give a shop a new M-Pesa callback secret (callbacks in flight are kept)"
    )
    rotate.add_argument("tenant")
    rotate.add_argument(
        "--force", action="store_true", help="rotate even if the last rotation is younger than the retry window"
    )
    listing = commands.add_parser("review", help="list the messages the bot was unsure about, or add one as an example")
    listing.add_argument("--since", default="7d", type=_since, help="how far back: 7d (default), 12h, 30m, 2w, all")
    listing.add_argument("--limit", type=int, default=50, help="at most this many messages (default 50)")
    listing.add_argument("--tenant", help="one shop's conversations only (its short name)")
    adding = listing.add_subparsers(dest="review_command").add_parser(
        "add", help="add a listed message to an intent's examples in data/nlu/<language>.yml"
    )
    adding.add_argument("id", help="the message's id in the review")
    adding.add_argument("--intent", required=True, help="the intent it is an example of (from domain.yml)")
    adding.add_argument("--language", choices=LANGUAGES, help="en.yml or sw.yml (default: the message's language)")
    args = parser.parse_args(argv)
    args.settings = Settings.load()
    run = {
        "import-catalog": _import,
        "handback": _handback,
        "add-staff": _add_staff,
        "reseal-shop-secrets": _reseal,
        "new-secrets-key": _new_key,
        "api-token": _api_token,
        "rotate-callback-secret": _rotate_callback_secret,
        "review": _review,
    }
    return asyncio.run(run[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
