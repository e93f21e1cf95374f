"""Browsing and searching a merchant's catalog, and finding the products a customer's words name.

Which product a message names is decided here, at run time, against the shop's own catalog (names,
sizes, categories, SKUs and the merchant's aliases; `mentions`), never by product words the NLU
model learnt: every merchant brings their own catalog."""

from __future__ import annotations

import re
from collections.abc import Sequence

from actions.commerce import mentions
from actions.commerce.errors import AmbiguousProduct, ProductNotFound
from actions.commerce.model import Category, Product
from actions.commerce.ports import UnitOfWork
from actions.commerce.shops import tenant_of

PAGE_SIZE = 10


async def categories(uow: UnitOfWork, tenant: str) -> list[Category]:
    async with uow:
        shop = await tenant_of(uow, tenant)
        return await uow.catalog.categories(shop.id)


async def browse(uow: UnitOfWork, tenant: str, category: str | None = None, limit: int = PAGE_SIZE) -> list[Product]:
    async with uow:
        shop = await tenant_of(uow, tenant)
        return await uow.catalog.products(shop.id, category, limit)


async def search(uow: UnitOfWork, tenant: str, text: str, limit: int = PAGE_SIZE, said: str = "") -> list[Product]:
    """Products matching `text` (the words the NLU marked), else those the whole message (`said`) names."""
    async with uow:
        shop = await tenant_of(uow, tenant)
        found = await uow.catalog.search(shop.id, text, limit) if text.strip() else []
        if found or not said:
            return found
        return _named(said, await uow.catalog.everything(shop.id))[:limit]


async def mentioned(uow: UnitOfWork, tenant: str, said: str) -> list[Product]:
    """The products the customer's message names, best first; exactly one when it names one clearly."""
    async with uow:
        shop = await tenant_of(uow, tenant)
        return _named(said, await uow.catalog.everything(shop.id))


async def by_skus(uow: UnitOfWork, tenant: str, skus: Sequence[str]) -> list[Product]:
    """Products by SKU, in the order given (a list shown earlier); those no longer sold are left out."""
    async with uow:
        shop = await tenant_of(uow, tenant)
        found = {p.sku: p for p in await uow.catalog.everything(shop.id)}
        return [found[sku] for sku in skus if sku in found]


def _named(said: str, products: Sequence[Product]) -> list[Product]:
    aliases = {p.id: p.aliases for p in products if p.aliases}
    one = mentions.best(said, products, aliases)
    return [one] if one else mentions.choices(said, products, aliases)


async def describe(uow: UnitOfWork, tenant: str, query: str, said: str = "") -> Product:
    """The product `query` names (a SKU, or the words the NLU marked), judged by the customer's whole
    message (`said`) against the shop's catalog: AmbiguousProduct when it fits several, ProductNotFound
    when it names none."""
    async with uow:
        shop = await tenant_of(uow, tenant)
        product = await uow.catalog.by_sku(shop.id, query.strip().upper())
        if product is not None:
            return product
        everything = await uow.catalog.everything(shop.id)
        named = _named(query, everything)
        if len(named) > 1 and said:  # "sugar" fits two; "add 3 sugar 2kg" says which
            named = _named(said, named) or named
        elif not named and said and query.casefold() in said.casefold():  # the NLU marked the wrong words
            named = _named(said, everything)
        if len(named) == 1:
            return named[0]
        if named:
            raise AmbiguousProduct(query, named)
        try:
            return await find_one(uow, shop.id, query)
        except AmbiguousProduct as e:
            chosen = best_match(e.candidates, said)
            if chosen is None:
                raise
            return chosen


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.casefold()))


def best_match(candidates: Sequence[Product], said: str) -> Product | None:
    """The candidate whose name holds more of the customer's words than any other's.

    "sugar 1kg" picks Sugar 1kg over Sugar 2kg; "add 3 fresh milk 500ml" picks Fresh Milk 500ml
    over Mala (Fermented Milk) 500ml. None when no candidate stands out ("add 2 sugar").
    """
    said_words = _words(said)
    scores = sorted(
        ((len(said_words & (_words(p.name) | {p.sku.casefold()})), i) for i, p in enumerate(candidates)),
        reverse=True,
    )
    if not scores or scores[0][0] == 0 or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None
    return candidates[scores[0][1]]


async def find_one(uow: UnitOfWork, tenant_id: int, query: str) -> Product:
    """The product a customer means: an exact SKU, else the only product whose name matches."""
    product = await uow.catalog.by_sku(tenant_id, query.strip().upper())
    if product is not None:
        return product
    matches = await uow.catalog.search(tenant_id, query, limit=PAGE_SIZE)
    exact = [p for p in matches if p.name.casefold() == query.strip().casefold()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise ProductNotFound(query)
    raise AmbiguousProduct(query, matches)
