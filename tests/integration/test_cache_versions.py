"""The read cache's version on real PostgreSQL and Redis: every committed write moves it, in commit order
whatever order the writers began in, without a lock another writer waits for; compaction changes nothing."""

import asyncio

from sqlalchemy import select, text, update

from actions.commerce import catalog
from actions.db import cache
from actions.db import tables as t


async def version_of(rt, tenant_id):
    async with rt.sessions() as session:
        return await cache.version(session, tenant_id)


async def demo_shop(rt):
    async with rt.sessions() as session:
        return await session.scalar(select(t.Tenant.id).where(t.Tenant.slug == "demo-shop"))


async def price_of_sugar(rt):
    """SUGAR-1KG's price as the bot's cached listing of its category shows it."""
    async with rt.sessions() as session:
        query = select(t.Category.slug).join(t.Product, t.Product.category_id == t.Category.id)
        category = await session.scalar(query.where(t.Product.sku == "SUGAR-1KG"))
    listed = await catalog.browse(rt.uow(), "demo-shop", category, limit=100)
    return next(p.price.minor for p in listed if p.sku == "SUGAR-1KG")


async def set_price(session, minor):
    await session.execute(update(t.Product).where(t.Product.sku == "SUGAR-1KG").values(price_minor=minor))


async def test_a_write_is_seen_by_the_next_cached_read_and_compaction_keeps_the_version(shop):
    tenant = await demo_shop(shop)
    assert await price_of_sugar(shop) == await price_of_sugar(shop) == 18000
    assert await shop.redis.keys(f"cache:{tenant}:v{await version_of(shop, tenant)}:products:*")  # cached
    async with shop.sessions() as session, session.begin():
        await set_price(session, 19000)
    assert await price_of_sugar(shop) == 19000

    before = await version_of(shop, tenant)
    async with shop.sessions() as session, session.begin():
        assert await cache.compact(session) > 0
    async with shop.sessions() as session:
        assert await session.scalar(select(text("count(*)")).select_from(t.CacheChange)) == 0
    assert await version_of(shop, tenant) == before
    async with shop.sessions() as session, session.begin():
        await set_price(session, 20000)
    assert await price_of_sugar(shop) == 20000


async def test_a_writer_that_began_first_but_commits_last_still_moves_the_version(shop):
    """Versions from a sequence would fail here: the later writer's number is the larger, so the earlier
    one's commit would leave the version a reader already cached its old data under."""
    tenant = await demo_shop(shop)
    async with shop.sessions() as first, shop.sessions() as second:
        await first.begin()
        await set_price(first, 18100)  # first writer: its change row is inserted, not committed
        await second.begin()
        touch = update(t.Category).where(t.Category.tenant_id == tenant).values(name=t.Category.name)
        await asyncio.wait_for(second.execute(touch), timeout=20)  # nothing to wait for
        await second.commit()  # the second writer commits first
        read_between = await version_of(shop, tenant)
        assert await price_of_sugar(shop) == 18000  # cached under read_between
        await first.commit()
    assert await version_of(shop, tenant) != read_between
    assert await price_of_sugar(shop) == 18100


async def test_writers_of_one_shop_never_wait_for_each_other_to_move_its_version(shop):
    async with shop.sessions() as holder:
        await holder.begin()
        await set_price(holder, 18200)  # has moved the shop's version, and stays uncommitted
        others = [_change_alone(shop, sku) for sku in ("MILK-500ML", "BREAD-400G", "SALT-1KG")]
        # With revision 0003's per-shop version row each of these would wait for the holder to commit.
        await asyncio.wait_for(asyncio.gather(*others), timeout=20)
        await holder.commit()
    assert await price_of_sugar(shop) == 18200


async def _change_alone(rt, sku):
    async with rt.sessions() as session, session.begin():
        await session.execute(update(t.Product).where(t.Product.sku == sku).values(stock=t.Product.stock + 1))
