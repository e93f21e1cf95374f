# ruff: noqa: F811 (the fixtures imported from test_admin are parameters here)
"""The cart-reminder setting in the admin pages, over HTTP against a real sidecar."""

import pytest
from sqlalchemy import select

from actions.db import tables as t
from tests.sidecar.test_admin import admin_prefix, project, sidecar, staff, staff_email  # noqa: F401 (fixtures)


async def shop_setting(shop) -> tuple[bool, int]:
    async with shop.sessions() as session:
        return (await session.execute(select(t.Tenant.cart_reminders, t.Tenant.cart_reminder_minutes))).one()


async def test_the_owner_switches_reminders_on_with_a_delay_and_it_is_audit_logged(shop, staff):
    page = await staff.get("/admin/reminders")
    assert page.status_code == 200 and 'name="delay_minutes" value="120"' in page.text
    saved = await staff.post("/admin/reminders", on="1", delay_minutes="45")
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/reminders")
    assert await shop_setting(shop) == (True, 45)
    page = await staff.get("/admin/reminders")
    assert "Cart reminders are on, 45 minutes" in page.text and "checked" in page.text
    async with shop.sessions() as session:
        assert "cart_reminders" in (await session.scalars(select(t.AuditEntry.action))).all()

    await staff.post("/admin/reminders", delay_minutes="45")  # the box unticked
    assert await shop_setting(shop) == (False, 45)


@pytest.mark.parametrize("delay", ["5", "1381", "abc", "", "1e3", "99999999999999999999999", "-10"])
async def test_a_delay_that_is_not_allowed_is_refused_with_a_400_and_changes_nothing(shop, staff, delay):
    refused = await staff.post("/admin/reminders", on="1", delay_minutes=delay)
    assert refused.status_code == 400 and "Not saved" in refused.text
    assert await shop_setting(shop) == (False, 120)


async def test_the_setting_needs_a_signed_in_member_and_its_csrf_token(shop, staff):
    forged = await staff.http.post("/admin/reminders", data={"on": "1", "delay_minutes": "30"})
    assert forged.status_code == 403
    assert await shop_setting(shop) == (False, 120)
