"""Which language a customer writes in, so replies follow it.

Rasa calls `action_validate_slot_mappings` after every message; its `extract_language`
sets the `language` slot (which chooses each reply's variation in domain.yml) when the
message is clearly English or Swahili/Sheng, or when the customer asks for a language.
Short or mixed messages ("2", "ok", "Kilimani") change nothing, so the chat keeps its language.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions.conversation import entity, intent

# Function words and everyday shop words. Left out on purpose: product names ("unga" and
# "sukari" turn up in English sentences too) and yes/no words ("ok", "sawa", "hapana"),
# which Kenyans use in both languages and which answer the bot's own questions.
SWAHILI = set(
    """
    habari mambo niaje sasa vipi poa fiti jambo hujambo shikamoo salama sijambo karibu
    nataka nataki nipe niletee nionyeshe naomba ningependa tafadhali nisaidie saidia msaada
    mna kuna una uko iko niko nko yuko tuko ziko yako yangu changu zangu wangu lako langu
    ni na ya wa za kwa la cha vya kwenye hii hiyo hizi hapa pale huko sana tu pia bado tena
    nini gani ngapi wapi lini vipi kwa_nini bei pesa malipo nimelipa lipa kulipa kulipia
    sitaki acha ghairi futa ondoa toa weka ongeza badilisha asante shukran kwaheri
    tutaonana baadaye usiku asubuhi mchana jioni leo kesho jana kikapu bidhaa vitu kitu
    mzigo oda agizo kuagiza nimeagiza imefika imefikaje lete ongea tumia kiswahili kizungu
    kiingereza mtu mhudumu wakala binadamu moja mbili tatu nne tano sita saba nane tisa
    kumi msee buda manze maze sema form sawasawa freshi rada
    """.split()
)
ENGLISH = set(
    """
    hi hello hey good morning evening afternoon thanks thank you please pls plz i i'm im me
    my mine we our you your is are am was be do does did have has had want would like need
    get give show see tell what which where when how much many the a an of to in on for
    with from at by and or but not cart order orders pay paid payment money delivery
    deliver price cost buy add remove cancel status products items item help speak english
    person agent human talk bye one two three four five six seven eight nine ten this that
    these those there it
    """.split()
)
WORD = re.compile(r"[a-z']+")
LANGUAGES = ("en", "sw")


def detect_language(text: str) -> str | None:
    """'sw', 'en', or None when the message does not say (too short, mixed evenly, names only)."""
    if text.startswith("/"):  # a button's payload, not the customer's words
        return None
    words = WORD.findall(text.lower())
    swahili = sum(word in SWAHILI for word in words)
    english = sum(word in ENGLISH for word in words)
    if swahili == english:
        return None
    return "sw" if swahili > english else "en"


class ActionValidateSlotMappings(ValidationAction):
    """Fills the slots whose mapping is `custom` and that have an `extract_<slot>` method here."""

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if (intent(tracker) or "").startswith("EXTERNAL_"):
            return {}  # a message from the worker, not words of the customer's
        if intent(tracker) == "change_language":
            asked = entity(tracker, "language")
            return {"language": asked} if asked in LANGUAGES else {}
        detected = detect_language(tracker.latest_message.get("text") or "")
        return {"language": detected} if detected else {}
