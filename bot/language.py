"""Which language a customer writes in, so replies can follow it.

A Rasa NLU component that adds a `message_language` entity ("en" or "sw") when a
message is clearly in English or in Swahili/Sheng; short or mixed messages ("2",
"ok", "Kilimani") add nothing, so the conversation keeps its language. The domain
maps that entity onto the `language` slot, which chooses each reply's variation.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

ENTITY = "message_language"

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


def detect_language(text: str) -> Optional[str]:
    """'sw', 'en', or None when the message does not say (too short, mixed evenly, names only)."""
    words = WORD.findall(text.lower())
    swahili = sum(word in SWAHILI for word in words)
    english = sum(word in ENGLISH for word in words)
    if swahili == english:
        return None
    return "sw" if swahili > english else "en"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            language = detect_language(text)
            if language is None or text.startswith("/"):
                continue
            entity = {"entity": ENTITY, "value": language, "start": 0, "end": len(text), "confidence": 1.0}
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name([entity]), add_to_output=True)
        return messages
