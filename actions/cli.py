"""Command-line tools for merchants and operators.

python -m actions.cli import-catalog seed/demo-shop.csv --tenant demo-shop --name "Demo Shop" --currency KES
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

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
    finally:
        await runtime.stop()
    print(f"{result.tenant}: {result.products} products in {result.categories} categories imported from {args.file}")
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
    args = parser.parse_args(argv)
    return asyncio.run(_import(args))


if __name__ == "__main__":
    sys.exit(main())
