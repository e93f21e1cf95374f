"""The unhappy paths of a checkout: wrong answers, questions in the middle, a person."""

import asyncio
import os
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


async def test_three_wrong_answers_in_a_row_offer_help_or_a_person(shop, bot, sender):
    await start_checkout(bot, sender)
    await bot.say(sender, "12345")
    await bot.say(sender, "0812 345 678")
    reply = await bot.say(sender, "999")
    assert "talk to a person" in reply
    assert "Please confirm" in await bot.say(sender, "0712345678")


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
