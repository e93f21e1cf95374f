"""Command-line tools for merchants and operators.

python -m actions.cli import-catalog seed/demo-shop.csv --tenant demo-shop --name "Demo Shop" --currency KES
python -m actions.cli add-staff demo-shop amina@example.com --name Amina   (asks for the password, or STAFF_PASSWORD)
python -m actions.cli api-token demo-shop
python -m actions.cli handback <conversation id>
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

import httpx
from sqlalchemy.exc import ProgrammingError

from actions import rasa_api, runtime
from actions.admin import accounts
from actions.admin.passwords import WeakPassword
from actions.commerce.catalog_csv import CatalogFileError, parse_catalog
from actions.commerce.money import MoneyError, exponent
from actions.db.catalog_import import import_catalog, shop_exists


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
    rt = await runtime.start()
    try:
        if args.only_if_new and await shop_exists(rt.sessions, args.tenant):
            print(f"{args.tenant}: already loaded, left as it is")
            return 0
        result = await import_catalog(rt.sessions, args.tenant, args.name or args.tenant, args.currency, rows)
    except ValueError as e:
        print(f"{args.file}: nothing imported. {e}", file=sys.stderr)
        return 1
    except ProgrammingError as e:
        if "UndefinedTable" not in repr(e.orig):
            raise
        print("The database has no commerce schema yet: run `make migrate` (alembic upgrade head).", file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(f"{result.tenant}: {result.products} products in {result.categories} categories imported from {args.file}")
    return 0


async def _handback(args: argparse.Namespace) -> int:
    """Resume a conversation a person took over: the bot answers the customer again."""
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            await rasa_api.resume(client, args.rasa_url, os.environ.get("RASA_TOKEN"), args.conversation)
        except rasa_api.RasaUnreachable as e:
            print(e, file=sys.stderr)
            return 1
    print(f"{args.conversation}: handed back to the bot")
    return 0


async def _add_staff(args: argparse.Namespace) -> int:
    password = os.environ.get("STAFF_PASSWORD") or getpass.getpass(f"Password for {args.email}: ")
    rt = await runtime.start()
    try:
        await accounts.set_staff(rt.sessions, args.tenant, args.email, args.name or args.email, password)
    except (accounts.UnknownShop, WeakPassword) as e:
        print(f"not saved: {e}", file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(f"{args.email} can sign in to the admin pages of {args.tenant} (/admin/ on the sidecar)")
    return 0


async def _api_token(args: argparse.Namespace) -> int:
    rt = await runtime.start()
    try:
        token = await accounts.new_api_token(rt.sessions, args.tenant)
    except accounts.UnknownShop as e:
        print(f"no shop {e}", file=sys.stderr)
        return 1
    finally:
        await runtime.stop()
    print(token)
    print(f"(the order API token of {args.tenant}; shown once, the previous one no longer works)", file=sys.stderr)
    return 0


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
    back.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    staff = commands.add_parser("add-staff", help="create a staff member of a shop (or set a new password)")
    staff.add_argument("tenant", help="the shop's short name, e.g. demo-shop")
    staff.add_argument("email")
    staff.add_argument("--name", help="shown in the admin pages (default: the e-mail)")
    token = commands.add_parser("api-token", help="print a new order-API token for a shop (the old one stops)")
    token.add_argument("tenant")
    args = parser.parse_args(argv)
    run = {"import-catalog": _import, "handback": _handback, "add-staff": _add_staff, "api-token": _api_token}
    return asyncio.run(run[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
