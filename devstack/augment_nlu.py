"""Write data/nlu/generated.yml: each training example that names a product, once more with another product.

Which product a message names is decided at run time against the shop's catalog, so the intent must
not depend on the product words the examples happen to use ("do you have kimbo?" is a search
whatever kimbo is). Each annotated example of the product intents comes back with its product
replaced by a made-up brand, sometimes with a kind of product and a size, so the model learns the
frame around the product, not the product. Brands are as varied as real ones: syllables, a vowel
first, a Bantu cluster ("-mbo", "-nga"), a long vowel ("-goo"), a final consonant, English-looking
morphemes, or a place's name from the location lookup ("Nakuru milk"); never a word of the training
examples or of the held-out files, and no generated example is a held-out message.

    .venv-rasa/bin/python -m devstack.augment_nlu   # after editing data/nlu/en.yml or sw.yml, or tests/nlu

Deterministic (fixed seed): the same examples give the same file. Never edit generated.yml by hand.
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import yaml

from devstack.paths import ROOT

SOURCES = (ROOT / "data/nlu/en.yml", ROOT / "data/nlu/sw.yml")
TARGET = ROOT / "data/nlu/generated.yml"
HELD_OUT = ROOT / "tests/nlu"
PATTERNS = ROOT / "data/nlu/patterns.yml"
PLACE_BRANDS = 0.15  # of the made-up products: a place's name and a kind ("Nakuru milk")
BRAND_WORDS = ["Royal", "Premium", "Classic", "Original", "Fresh", "Pure", "Super", "Star"]
INTENTS = ("search_product", "product_details", "add_to_cart", "remove_from_cart")
PRODUCT = re.compile(r"\[([^\]]+)\]\(product(?::[^)]*)?\)|\[([^\]]+)\]\{\"entity\": \"product\"[^}]*\}")
SYLLABLES = "ba be bi bo bu da di do ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu wa we za zi zo".split()  # noqa: E501
FIRST_VOWELS = "a e i o u ar el om in".split()
CLUSTERS = "mba mbo mbe ndi ndo nda nga ngo ngu nja nje nyo nya cha cho sha shi sco pic rex tol".split()
LONG_VOWELS = "boo goo koo loo noo too zoo bee kee lee mee see taa maa raa nii".split()
CODAS = "s x n ck r l t ks".split()
MORPHEMES = "brim dun mark vale crest glen field ton wick ford ley hill top way ridge port ola ex tri zen".split()
KINDS = {
    "en": "cooking fat,margarine,washing powder,maize meal,soda,tea,juice,biscuits,spread,noodles,jam,shampoo,"
    "lotion,detergent,bar soap,tissue,flour,rice,milk,yoghurt,gas refill,toothpaste,diapers,cereal".split(","),
    "sw": "mafuta,siagi,sabuni,unga,soda,chai,juisi,biskuti,tambi,jam,maziwa,mchele,sukari,mkate,gesi,"
    "dawa ya meno,tishu,chumvi,mayai,majani".split(","),
}
SIZES = {
    "en": ["1kg", "2kg", "500g", "250g", "1L", "2L", "500ml", "300ml", "2 kg", "1 litre"],
    "sw": ["1kg", "2kg", "500g", "1L", "500ml", "kilo moja", "kilo mbili", "lita moja", "lita mbili", "nusu kilo"],
}


def brand(rng: random.Random) -> str:
    """A made-up brand: syllables, sometimes a vowel first ("Arimo") or a Bantu cluster inside ("Kimbo")."""
    syllables = [rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))]
    if rng.random() < 0.25:
        syllables[0] = rng.choice(FIRST_VOWELS)
    if rng.random() < 0.3:
        syllables[-1] = rng.choice(CLUSTERS)
    if rng.random() < 0.2:
        syllables[rng.randrange(len(syllables))] = rng.choice(LONG_VOWELS)
    if rng.random() < 0.2:
        syllables.append(rng.choice(CODAS))
    if rng.random() < 0.15:  # an English-looking brand: two made-up morphemes, "Brimside", "Dunmark"
        return rng.choice(MORPHEMES) + rng.choice(MORPHEMES)
    return "".join(syllables)


@functools.cache
def place_names(avoid: frozenset[str]) -> list[str]:
    """The location lookup's places: brands are often named after one (a tea, a sugar, a milk)."""
    for block in yaml.safe_load(PATTERNS.read_text())["nlu"]:
        if block.get("lookup") == "location":
            names = [line.strip().removeprefix("- ").strip() for line in block["examples"].splitlines()]
            return [n for n in names if n and not set(re.findall(r"[a-z]+", n.lower())) & avoid]
    return []


def product_words(rng: random.Random, language: str, avoid: set[str], sized: bool = True) -> str:
    """A made-up brand, alone or with a kind of product and a size: "zobiko", "Karemi margarine 500g".

    Some brands are a place's name with a kind or a word after it ("Nakuru milk", "Embu Royal"), so
    that a word the location lookup knows does not turn a request for a product into something else."""
    places = place_names(frozenset(avoid))
    if places and rng.random() < PLACE_BRANDS:
        name = f"{rng.choice(places)} {rng.choice(KINDS[language] + BRAND_WORDS)}"
        return f"{name} {rng.choice(SIZES[language])}" if sized and rng.random() < 0.3 else name
    while True:
        name = brand(rng)
        if name not in avoid:
            break
    if rng.random() < 0.4:
        name = name.capitalize()
    if rng.random() < 0.5:
        name = f"{name} {rng.choice(KINDS[language])}"
    if sized and rng.random() < 0.3:
        name = f"{name} {rng.choice(SIZES[language])}"
    return name


# Sentence frames written for this file (not copied from en.yml, sw.yml or tests/nlu): the ways
# customers ask for, about, add and remove a product, each filled with made-up products so the
# model learns that the frame, not the product word, decides the intent. {p} is a product,
# {q} a quantity (annotated), {s} a size, {o} an ordinal ("the second one").
# fmt: off
FRAMES = {
    "search_product": {
        "en": [
            "do you have {p}", "do you have {p}?", "do u have {p}", "d u have {p}", "do you guys have {p}",
            "you got {p}?", "u got {p}", "got any {p}?", "any {p}?", "any {p} today?", "any {p} in stock?",
            "is {p} available", "is {p} available?", "{p} available?", "{p} in stock?", "is there {p}",
            "is there any {p} left", "do you sell {p}", "do you stock {p}", "do you carry {p}",
            "have you got {p}", "hv u got {p}", "hav u got {p}?", "looking for {p}", "im looking for {p}",
            "searching for {p}", "search for {p}", "find {p}", "find me {p}", "i need {p}, do you have it?",
            "need {p} do u have", "is {p} there", "still have {p}?", "is {p} out of stock", "do you have {p} or not",
            "can i get {p} here", "where can i find {p}", "which {p} do you have", "what kinds of {p} do you have",
            "what brands of {p} do you sell", "check if you have {p}", "any {p} available pls", "{p} do you have",
            "hi, do you have {p}?", "do you have {p} in {s}",
        ],
        "sw": [
            "mna {p}?", "mna {p}", "mnayo {p}?", "mko na {p}", "mko na {p}?", "una {p}", "uko na {p}?",
            "kuna {p}?", "kuna {p} leo", "{p} iko?", "{p} ziko?", "{p} mnayo?", "{p} mnazo?", "{p} mko nayo?",
            "{p} iko ama imeisha?", "{p} imeisha?", "mnauza {p}?", "mnauza {p}", "natafuta {p}",
            "nataka kujua kama mna {p}", "nahitaji {p}, mnayo?", "si mna {p}?", "mna {p} ama?",
            "tafuta {p}", "nitafutie {p}", "nisaidie kupata {p}", "{p} inapatikana?", "{p} zinapatikana?",
            "kuna stock ya {p}?", "mna stock ya {p}?", "mko na {p} leo?", "msee mna {p}?", "boss uko na {p}",
            "niaje, mna {p}?", "{p} mnauza?", "mnaleta {p}?", "mna {p} ya {s}?", "bado mna {p}?",
        ],
    },
    "product_details": {
        "en": [
            "how much is {p}", "how much is {p}?", "hw much is {p}", "how much for {p}", "how much for the {p}",
            "how much are {p}", "how much does {p} cost", "what does {p} cost", "whats the price of {p}",
            "what is the price of {p}", "price of {p}", "price for {p}?", "{p} price?", "{p} how much",
            "{p} going for how much", "how much u selling {p}", "how much do you sell {p}", "cost of {p}",
            "{p} costs how much", "how much is the {p} {s}", "price of {p} {s}?", "tell me about {p}",
            "tell me more about the {p}", "details of {p}", "info on {p}", "what size is {p}",
            "how big is the {p}", "is the {p} fresh", "when does {p} expire", "describe {p}",
            "more info about the {p} pls", "what brand is the {p}", "how many grams is {p}",
            "how many litres is the {p}", "what's the {p} like", "is {p} any good",
        ],
        "sw": [
            "{p} ni bei gani", "{p} ni bei gani?", "{p} ni ngapi", "{p} ni pesa ngapi", "bei ya {p}",
            "bei ya {p} ni ngapi", "bei ya {p}?", "{p} inauzwa ngapi", "{p} mnauza ngapi", "{p} mnauza aje",
            "{p} ni how much", "hw much ni {p}", "{p} inakaa ngapi", "gharama ya {p}", "{p} inagharimu ngapi",
            "bei ya {p} {s}", "{p} {s} ni ngapi", "nieleze kuhusu {p}", "niambie kuhusu {p}", "maelezo ya {p}",
            "{p} ni ya size gani", "{p} ni kubwa aje", "{p} ni ya kilo ngapi", "{p} ni fresh?",
            "{p} inaexpire lini", "nipe details za {p}", "{p} iko aje", "bei ya {p} imepanda?",
        ],
    },
    "add_to_cart": {
        "en": [
            "add {p}", "add {q} {p}", "add {q} {p} to my cart", "add {p} to cart", "put {q} {p} in my cart",
            "i want {q} {p}", "i'll take {q} {p}", "ill take {p}", "gimme {q} {p}", "give me {q} {p}",
            "can i get {q} {p}", "can i have {q} {p}", "id like {q} {p}", "get me {q} {p}", "send me {q} {p}",
            "{q} {p} please", "{q} {p} pls", "i want to buy {q} {p}", "buy {q} {p}", "order {q} {p}",
            "add {q} of {p}", "i need {q} {p}", "plus {q} {p}", "also add {q} {p}", "and {q} {p} too",
            "throw in {q} {p}", "include {q} {p}", "let me get {q} {p}", "add {q} {p} {s}", "i want {p} {s}",
            "add {p} {s} x {q}", "put {p} in the cart", "add one more {p}",
            # picks from the list just shown
            "ill take the {o} one", "give me the {o} one", "gimme {q} of the {o} one", "i want the {o} one",
            "add the {o} one", "gimme {q} of those", "i'll have {q} of the {s}", "give me {q} of the {s} one",
            "add {q} of the {s}", "the {o} one, {q} pls", "add {q} of them", "i want {q} of the {o}",
            "{q} of those", "{q} of those pls", "{q} of them", "{q} of them please", "just {q} of those",
            "{q} of the {o} one", "{q} of the {s} one pls", "ok {q} of those", "make it {q} of those",
        ],
        "sw": [
            "nataka {p}", "nataka {p} {q}", "nipe {p} {q}", "nipatie {p} {q}", "ongeza {p} {q}", "ongeza {p}",
            "weka {p} {q} kwa cart", "weka {p} kwa kikapu", "niwekee {p} {q}", "nichukulie {p} {q}",
            "naomba {p} {q}", "nitachukua {p} {q}", "nunua {p} {q}", "nataka kununua {p} {q}",
            "niletee {p} {q}", "add {p} {q}", "add {q} za {p}", "tia {p} {q} kwa cart", "ongeza na {p}",
            "pia {p} {q}", "na {p} {q} pia", "nibuyie {p} {q}", "ongezea {p} {q}", "nataka {p} {s} {q}",
            "nipe {p} ya {s}", "weka {p} {s} kwa cart", "nataka {p} za {s} {q}", "naomba uniwekee {p}",
            "ongeza {p} moja zaidi",
            # picks from the list just shown
            "nipe ya {o}", "nataka ya {o}", "nipe {q} za ya {o}", "weka ya {o}", "nichukulie hiyo ya {o}",
            "nipe hiyo ya {s}", "nataka {q} ya {s}", "nipe {q} za hizo", "ongeza ya {o}", "hiyo ya {s} nipe {q}",
            "{q} za hizo", "hizo {q}", "nipe {q} kati ya hizo", "{q} ya hiyo ya {o}", "sawa {q} za hizo",
        ],
    },
    "remove_from_cart": {
        "en": [
            "remove {p}", "remove the {p}", "remove {p} from my cart", "take out {p}", "take the {p} out",
            "delete {p}", "delete {p} from cart", "delete the {p} from my cart", "drop {p}", "drop the {p}",
            "i dont want {p} anymore", "minus {p}", "minus the {p}", "remove {q} {p}", "take off {q} {p}",
            "less {q} {p}", "cancel the {p}", "scrap the {p}", "get rid of {p}", "no more {p} pls",
            "take {p} off my cart", "remove {p} {s}", "{p} remove it", "one less {p}",
            "remove {p} from the cart", "take {p} out of my cart", "delete {p} in my cart", "delete my {p}",
        ],
        "sw": [
            "toa {p}", "toa {p} kwa cart", "ondoa {p}", "ondoa {p} kwa kikapu", "futa {p}", "futa {p} kwa cart",
            "futa {p} kwa kikapu", "sitaki {p} tena", "punguza {p} {q}", "punguza {p}", "toa {p} {q}",
            "ondoa {q} za {p}", "{p} ondoa", "{p} itoe", "usiweke {p}", "toa hiyo {p}", "toa {p} {s}",
            "ondoa {p} kwa order", "futa {p} moja", "{p} sitaki",
            "futa {p} kwenye cart", "ondoa {p} kwenye kikapu", "toa {p} kwa kikapu changu", "futa {p} kwa cart yangu",
            "{p} itoe kwa cart", "{p} iondoe kwa kikapu", "{p} zote zitoke kwa cart", "toa {p} kwa order yangu",
            "{p} ondoa kwa kikapu", "{p} sitaki tena, itoe", "futa {p} zote kwa cart",
            "nifutie {p}", "futa hiyo {p}", "{p} ifute", "futa {p} tafadhali", "nifutie {p} kwa cart",
            "futa {p} kwa kikapu yangu", "ondoa {p} kwa cart", "futa {p} kwa list", "toa {p} kwa cart tafadhali",
        ],
    },
    # Answers: a delivery place (made-up places and landmarks, so unknown names are not read as
    # products) and a pick from a list with no verb.
    "inform": {
        "en": [
            "{l}", "{l}, opposite {m}", "{l} near {m}", "{l}, behind {m}", "deliver to {l}", "im in {l} next to {m}",
            "{l}, house {n}", "my address is {l}", "drop it at {l} near {m}", "{l} stage", "{l} next to {m}",
            "at {l}, ask for {m}", "the {o} one", "{o} one", "number {n}", "the {o}", "option {n}",
        ],
        "sw": [
            "niko {l}", "{l}, karibu na {m}", "nipo {l} opposite {m}", "{l} nyuma ya {m}", "niletee {l}",
            "tuma {l} karibu na {m}", "naishi {l}", "{l} mbele ya {m}", "niko {l} karibu na {m}", "{l}, nyumba {n}",
            "leta {l}", "ile ya {o}", "hiyo ya {o}", "ya {o}", "namba {n}",
        ],
    },
    # Ways to pay and to finish, after the wishes customers open with ({w}: "id like to", "ningependa"),
    # WhatsApp spellings included: "id" is "I'd" as often as it is an ID card.
    "pay_card": {
        "en": [
            "{w} pay by card", "{w} pay with my card", "{w} pay with a visa card", "{w} use my debit card",
            "{w} pay using a credit card", "{w} get a card payment link", "{w} pay online with my card",
            "{w} pay with mastercard", "{w} pay with my bank card", "{w} use card this time",
            "{w} pay with a debit card pls",
        ],
        "sw": [
            "{w} kulipa na card", "{w} kulipia kwa card", "{w} kutumia visa", "{w} kulipa na debit card",
            "{w} link ya kulipa na card", "{w} kulipa kwa card ya bank", "{w} kulipa na mastercard",
        ],
    },
    "pay_mpesa": {
        "en": [
            "{w} pay with mpesa", "{w} pay via m-pesa", "{w} get the mpesa prompt", "{w} use mpesa",
            "{w} pay through the stk push", "{w} pay by mpesa pls", "{w} pay on my phone with mpesa",
        ],
        "sw": [
            "{w} kulipa na mpesa", "{w} kulipia kwa mpesa", "{w} kutumia mpesa", "{w} kulipa kwa m-pesa",
            "{w} stk push ya mpesa", "{w} kulipa na simu yangu kwa mpesa",
        ],
    },
    "checkout": {
        "en": [
            "{w} checkout", "{w} check out now", "{w} place my order", "{w} pay for my order", "{w} complete the order",
            "{w} finish my order", "{w} pay for what is in my cart", "{w} order these now",
        ],
        "sw": [
            "{w} kulipa sasa", "{w} kuweka order", "{w} kumaliza order yangu", "{w} checkout", "{w} kulipia order",
            "{w} kulipia vitu vya kikapu",
        ],
    },
}
WANTS = {
    "en": ["id like to", "i'd like to", "i would like to", "i wanna", "i want to", "let me", "can i", "could i",
           "i need to", "pls let me", "i'd love to", "im trying to", "i will", "may i", "i think ill"],
    "sw": ["nataka", "ningependa", "naomba", "nisaidie", "nataka tu", "ningetaka", "nitaweza", "nimeamua"],
}
LANDMARKS = {
    "en": ["{B} supermarket", "the {B} petrol station", "{B} school", "the chiefs camp", "the stage", "{B} mall",
           "the police station", "{B} hospital", "the mosque", "{B} church", "{B} flats"],
    "sw": ["{B} supermarket", "petrol station ya {B}", "shule ya {B}", "kanisa", "msikiti", "stage", "soko ya {B}",
           "{B} mall", "hospitali ya {B}", "duka la {B}"],
}
# fmt: on
QUANTITIES = {
    "en": ["1", "2", "3", "4", "5", "6", "10", "two", "three", "four", "a dozen", "half a dozen", "one"],
    "sw": ["moja", "mbili", "tatu", "nne", "tano", "sita", "kumi", "2", "3", "4", "dazeni", "dazeni moja"],
}
ORDINALS = {
    "en": ["first", "second", "third", "1st", "2nd", "3rd", "last", "fourth"],
    "sw": ["kwanza", "pili", "tatu", "mwisho", "nne"],
}
PER_FRAME = 2  # fillings per frame


def from_frames(rng: random.Random, avoid: set[str]) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = {intent: [] for intent in FRAMES}
    for intent, languages in FRAMES.items():
        for language, frames in languages.items():
            for frame in frames:
                if "{o}" in frame:  # a pick from a list: once per ordinal, "third" as well as "second"
                    for ordinal in ORDINALS[language]:
                        by_intent[intent].append(fill(rng, frame.replace("{o}", ordinal), language, avoid))
                    continue
                for _ in range(PER_FRAME):
                    by_intent[intent].append(fill(rng, frame, language, avoid))
    return by_intent


def fill(rng: random.Random, frame: str, language: str, avoid: set[str]) -> str:
    frame = frame.replace("{p} {s}", "{ps}")  # a size right after the product is part of its name
    product = product_words(rng, language, avoid, sized="{s}" not in frame and "{ps}" not in frame)
    if "{ps}" in frame:
        product = f"{product} {rng.choice(SIZES[language])}"
        frame = frame.replace("{ps}", "{p}")
    text = frame.replace("{p}", "\0p").replace("{q}", "\0q").replace("{s}", "\0s").replace("{o}", "\0o")
    text = text.replace("\0o", rng.choice(ORDINALS[language]))
    if "{w}" in text:
        text = text.replace("{w}", rng.choice(WANTS[language]))
    text = text.replace("{n}", str(rng.choice((1, 2, 3, 4, 5, 7, 12, 45))))
    if "{l}" in text:
        place = brand(rng).capitalize() + rng.choice(("", "", " estate", f" {rng.randint(2, 9)}", " phase 2", " west"))
        landmark = rng.choice(LANDMARKS[language]).replace("{B}", brand(rng).capitalize())
        answer = re.search(r"\{l\}.*", text).group(0).replace("{l}", place).replace("{m}", landmark)
        text = text[: text.index("{l}")] + f"[{answer}](location)"
    text = text.replace("\0s", rng.choice(SIZES[language]))
    text = text.replace("\0q", f"[{rng.choice(QUANTITIES[language])}](quantity)")
    return text.replace("\0p", f"[{product}](product)")


def texts_of(paths) -> set[str]:
    """The messages of NLU files, lower-cased, without their entity annotations."""
    texts: set[str] = set()
    for path in paths:
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip().lower()
                texts.add(re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text))
    return texts


def held_out_texts() -> set[str]:
    """The held-out messages: a generated example must not be one (it would leave the test set)."""
    return texts_of(HELD_OUT.glob("*.yml"))


def words_of(paths) -> set[str]:
    words: set[str] = set()
    for path in paths:
        words |= set(re.findall(r"[a-z]+", path.read_text().lower()))
    return words


def held_out_words() -> set[str]:
    return words_of(HELD_OUT.glob("*.yml"))


def examples(path: Path) -> list[tuple[str, str]]:
    found = []
    for block in yaml.safe_load(path.read_text()).get("nlu", []):
        if block.get("intent") in INTENTS:
            for line in block["examples"].splitlines():
                text = line.strip().removeprefix("- ").strip()
                if PRODUCT.search(text):
                    found.append((block["intent"], text))
    return found


def generate(seed: int = 7) -> dict[str, list[str]]:
    rng = random.Random(seed)
    avoid = held_out_words() | words_of(SOURCES)  # a made-up brand is no word customers or examples use
    by_intent: dict[str, list[str]] = {intent: [] for intent in INTENTS}
    seen: set[str] = held_out_texts() | texts_of(SOURCES)  # nor a training example already written
    for path in SOURCES:
        language = path.stem
        for intent, text in examples(path):
            replacement = product_words(rng, language, avoid)
            variant = PRODUCT.sub(f"[{replacement}](product)".replace("\\", "\\\\"), text, count=1)
            key = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", variant).lower()
            if key not in seen:
                seen.add(key)
                by_intent[intent].append(variant)
    for intent, texts in from_frames(rng, avoid).items():
        by_intent.setdefault(intent, [])
        for text in texts:
            key = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text).lower()
            if key not in seen:
                seen.add(key)
                by_intent[intent].append(text)
    return by_intent


def main() -> None:
    lines = [
        'version: "3.1"',
        "",
        "# Generated by `python -m devstack.augment_nlu` from the product examples of en.yml and sw.yml:",
        "# the same sentences with made-up products, so intents do not depend on product words. Do not edit.",
        "nlu:",
    ]
    for intent, texts in generate().items():
        lines += [f"  - intent: {intent}", "    examples: |", *(f"      - {text}" for text in texts)]
    TARGET.write_text("\n".join(lines) + "\n")
    print(f"{TARGET.relative_to(ROOT)}: {sum(len(t) for t in generate().values())} examples")


if __name__ == "__main__":
    main()
