"""Command-line tools for merchants and operators.

python -m actions.cli import-catalog seed/demo-shop.csv --tenant demo-shop --name "Demo Shop" --currency KES
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import httpx
from sqlalchemy.exc import ProgrammingError

from actions import runtime
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
    url = f"{args.rasa_url.rstrip('/')}/conversations/{args.conversation}/tracker/events"
    params = {"token": os.environ["RASA_TOKEN"]} if os.environ.get("RASA_TOKEN") else {}
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            # "action_listen" after "resume": the next message is read as a fresh turn, not a reply to the hand-off.
            events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
            response = await client.post(url, params=params, json=events)
        except httpx.HTTPError as e:
            print(f"cannot reach Rasa at {args.rasa_url}: {e}", file=sys.stderr)
            return 1
    if response.status_code != 200:
        print(f"Rasa answered {response.status_code}: {response.text[:300]}", file=sys.stderr)
        return 1
    print(f"{args.conversation}: handed back to the bot")
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
    args = parser.parse_args(argv)
    return asyncio.run(_import(args) if args.command == "import-catalog" else _handback(args))


if __name__ == "__main__":
    sys.exit(main())
