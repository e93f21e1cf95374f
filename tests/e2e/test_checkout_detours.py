"""The unhappy paths of a checkout: wrong answers, questions in the middle, a person."""

import asyncio
import os
import re
import subprocess

from devstack.paths import ACTIONS_VENV, ROOT


async def start_checkout(bot, sender):
    await bot.say(sender, "add 1 SUGAR-1KG")
    await bot.say(sender, "checkout")
    await bot.say(sender, "Westlands")
    return await bot.say(sender, "mpesa")


async def test_a_phone_number_with_letters_is_refused_and_asked_again(shop, bot, sender):
    await start_checkout(bot, sender)
    reply = await bot.say(sender, "0712abc678")
    assert "doesn't look like a Kenyan mobile number" in reply
    assert await bot.slot(sender, "mpesa_phone") is None
    assert "Please confirm" in await bot.say(sender, "+254 712 345 678")
    assert await bot.slot(sender, "mpesa_phone") == "254712345678"


async def test_after_two_wrong_answers_a_way_out_and_after_three_the_question_is_not_asked_again(shop, bot, sender):
    await start_checkout(bot, sender)
    await bot.say(sender, "12345")
    second = await bot.say(sender, "0812 345 678")
    assert "Which M-Pesa number" in second and "Or choose" in second  # the third time: choices and a way out
    reply = await bot.say(sender, "999")
    assert "talk to a person" in reply and "Which M-Pesa number" not in reply
    assert (await bot.tracker(sender))["active_loop"].get("name") is None
    assert "Where should we deliver" in await bot.say(sender, "checkout")  # the cart is kept: checkout again


async def test_a_question_in_the_middle_of_checkout_is_answered_then_the_form_goes_on(shop, bot, sender):
    await bot.say(sender, "add 1 SUGAR-1KG")
    await bot.say(sender, "checkout")
    reply = await bot.say(sender, "do you have rice?")
    assert "Pishori Rice 1kg" in reply
    assert "Where should we deliver?" in reply
    assert "How would you like to pay" in await bot.say(sender, "Umoja 2")


async def test_a_person_takes_over_and_the_bot_stays_quiet_until_handed_back(shop, bot, sender):
    await bot.say(sender, "hi")
    assert "passing you to a person" in await bot.say(sender, "talk to a person")
    assert await bot.say(sender, "hello? anyone?") == ""
    handback = await asyncio.to_thread(
        subprocess.run,
        [str(ACTIONS_VENV / "bin/python"), "-m", "actions.cli", "handback", sender, "--rasa-url", bot.rasa.url],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
    )
    assert handback.returncode == 0, handback.stderr
    assert "Welcome" in await bot.say(sender, "hi")


async def test_staff_hand_a_waiting_customer_back_from_the_admin_pages(shop, bot, stack, sender):
    from actions.commerce import staff
    from tests.sidecar.test_admin import PASSWORD, Staff

    await bot.say(sender, "hi")
    await bot.say(sender, "nataka kuongea na mtu")
    email = f"desk-{sender}@demo-shop.example"
    await staff.set_staff(shop.uow(), "demo-shop", email, "Desk", PASSWORD)
    staff = Staff(stack.process("sidecar").url)
    assert (await staff.sign_in(email)).status_code == 303
    waiting = await staff.get("/admin/handoffs")
    assert sender in waiting.text and "nataka kuongea na mtu" in waiting.text
    assert await bot.say(sender, "halo?") == ""  # the bot stays quiet meanwhile

    handoff_id = re.search(r'action="/admin/handoffs/(\d+)/handback"', waiting.text).group(1)
    assert (await staff.post(f"/admin/handoffs/{handoff_id}/handback")).status_code == 303
    assert "Handed back" in (await staff.get("/admin/handoffs")).text
    assert sender not in (await staff.get("/admin/handoffs")).text
    assert "Karibu" in await bot.say(sender, "habari")
    await staff.http.aclose()


async def test_which_one_is_answered_by_the_number_in_the_list_or_by_more_of_the_name(shop, bot, sender):
    reply = await bot.say(sender, "add 3 sugar")
    assert "Which one do you mean?" in reply and "Sugar 2kg (SUGAR-2KG)" in reply
    assert reply.rstrip().endswith("KES 350")  # the list is the last message: rasa shell shows it as a menu
    assert "Added 3 × Sugar 2kg" in await bot.say(sender, "2")  # the second one offered, still 3 of them

    assert "Which one do you mean?" in await bot.say(sender, "add sugar")
    assert "How many Sugar 1kg would you like?" in await bot.say(sender, "sugar 1kg")
    assert "Added 4 × Sugar 1kg" in await bot.say(sender, "4")
    assert await bot.slot(sender, "product_options") is None


async def test_a_pick_from_the_list_just_shown_starts_adding_that_product_with_no_question_open(shop, bot, sender):
    listed = await bot.say(sender, "do you have sugar?")
    names = list(dict.fromkeys(re.findall(r"Sugar \dkg", listed)))  # in the order shown
    assert len(names) >= 2, listed
    assert await bot.slot(sender, "requested_slot") is None  # a search opens no question
    assert f"How many {names[1]} would you like?" in await bot.say(sender, "the second one")
    assert f"Added 3 × {names[1]}" in await bot.say(sender, "3")

    await bot.say(sender, "mna sukari?")
    reply = await bot.say(sender, "nipe mbili za ya kwanza")
    assert f"2 × {names[0]}" in reply, reply
