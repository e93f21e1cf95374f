"""Which of a shop's products a message names ("nipe sukari 2kg", "brwn bread") and which of a list just
shown it points at ("ya pili", "the 1L one"), read from the catalog at run time, not from training data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType

from actions.commerce.model import Product
from actions.commerce.quantities import AMOUNT_WORDS, UNITS, Size, read_amounts, sizes_in

MAX_CHOICES = 10

# Words that carry no product on their own, in English, Swahili and Sheng; with the amount words.
_COMMON = """
    the of do does did you your have has had got i im me my we us our want wanted wanna need needs would
    like please pls plz kindly add put get give send bring buy order some any and or but to for in on at with
    is are was be it its this that those these there here ones more also too can could will may how much many
    what whats which who where when not no yes yeah ok okay sure thanks thank thx hi hello hey dear sir madam
    boss bro sis today now tomorrow price prices cost costs available stock sell selling item items thing things
    stuff product products just only them they then than so very good nice fine cool great really right another
    other else all each same number first second third last cheaper cheapest cheap expensive bigger smaller big
    small
    nataka ninataka tunataka nipe tupe nipee niletee tuletee naomba tafadhali mna kuna iko ziko ipo zipo uko una
    mnauza unauza nauza ya wa za la cha vya kwa na ni si hii hiyo hizi hizo ile zile huyu yule hapa hapo pale
    bei ngapi pesa sawa poa asante asanteni habari mambo vipi niaje sasa je gani nini weka ongeza niongezee toa
    nunua kununua leo kesho pia tu tena bado agiza kuagiza kikapu cart mimi wewe yangu yako ndio hapana kwenye
    katika au lakini nikuwekee niwekee kwanza pili mwisho rahisi ghali kubwa ndogo
    nadai niko nikona msee mse buda manze bana fiti sema ebu hebu leta tuma kitu vitu mzee maze
"""
COMMON_WORDS = AMOUNT_WORDS | frozenset(_COMMON.split())

_NO_ALIASES: Mapping[int, Sequence[str]] = MappingProxyType({})

# Weights of the score: one point per message word a product explains, a typo counting a little less.
TYPO = 0.8
CATEGORY = 0.5
COVERAGE = 0.25  # times the share of the name's words present
WHOLE_NAME = 1.0  # every word of the name, or of an alias, present
NAME_AS_WRITTEN = 2.0  # "fresh milk 500ml" written out as the shop spells it
SKU = 5.0
SIZE = 0.75  # added when the message's size is the product's, taken away when it is another
MARGIN = 0.5  # how far the top score must be above the next for `best`
LEAST = 0.8  # below this (a category word alone) nothing is clearly named


@dataclass(frozen=True)
class Match:
    product: Product
    score: float


@dataclass(frozen=True)
class Pick:
    """A product from a list just shown, and how many of it the message asked for (None: not said)."""

    product: Product
    quantity: int | None


@dataclass(frozen=True)
class _Scored:
    product: Product
    score: float
    explains: frozenset[str]  # the message words its name or aliases account for


_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=8192)  # product names are read again for every message
def _tokens(text: str) -> tuple[str, ...]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return tuple(_TOKEN.findall(plain.casefold()))


def _words(text: str) -> tuple[str, ...]:
    """The words of a text that could name a product: no numbers, amounts or common words."""
    return tuple(w for w in _tokens(text) if len(w) > 1 and w.isalpha() and w not in COMMON_WORDS)


@lru_cache(maxsize=65536)
def _forms(word: str) -> frozenset[str]:
    """A word and its likely singulars: 'tomatoes' -> 'tomato', 'sodas' -> 'soda', 'mikate' -> 'mkate'."""
    forms = {word}
    if len(word) > 3 and word.endswith("ies"):
        forms |= {word[:-3] + "y", word[:-1]}
    elif len(word) > 3 and word.endswith("es"):
        forms |= {word[:-1], word[:-2]}  # "cases" -> "case", "boxes" -> "box"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        forms.add(word[:-1])
    # Swahili noun classes put the plural in the prefix: mi-/m-, vi-/ki-, ma-/(none).
    swahili = {"mi": "m", "vi": "ki", "vy": "ch", "ma": ""}
    if len(word) > 4 and word[:2] in swahili and word[2] not in "aeiou":
        forms.add(swahili[word[:2]] + word[2:])
    return frozenset(forms)


def _typos_allowed(length: int) -> int:
    return 0 if length < 4 else 1 if length <= 7 else 2


def _distance_at_most(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein (adjacent swaps count once) within `limit`, giving up early."""
    if abs(len(a) - len(b)) > limit:
        return False
    before, row = list(range(len(b) + 1)), list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        earlier, before, row = before, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(before[j] + 1, row[j - 1] + 1, before[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], earlier[j - 2] + 1)
        if min(row) > limit:
            return False
    return row[-1] <= limit


@lru_cache(maxsize=65536)
def _likeness(said: str, word: str, typos: bool) -> float:
    if _forms(said) & _forms(word):
        return 1.0
    if typos and _distance_at_most(said, word, _typos_allowed(min(len(said), len(word)))):
        return TYPO
    return 0.0


@dataclass(frozen=True)
class _Terms:
    """What a product can be called: its name's words, each alias's words, its category's words."""

    name: tuple[str, ...]
    aliases: tuple[tuple[str, ...], ...]
    category: tuple[str, ...]

    @classmethod
    def of(cls, product: Product, aliases: Sequence[str]) -> _Terms:
        return _terms(product.name, tuple(aliases), product.category)

    @cached_property
    def names(self) -> tuple[tuple[str, ...], ...]:
        return tuple(words for words in (self.name, *self.aliases) if words)

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(f for words in (*self.names, self.category) for w in words for f in _forms(w))


@lru_cache(maxsize=8192)
def _terms(name: str, aliases: tuple[str, ...], category: str) -> _Terms:
    said_as = tuple(words for words in map(_words, aliases) if words)
    return _Terms(_words(name), said_as, _words(category))


def _score(terms: _Terms, said: set[str], typos: set[str]) -> tuple[float, frozenset[str]]:
    """Points for the message words the product's names explain, and which words those are."""
    every = {w for words in (*terms.names, terms.category) for w in words}
    likes = {(s, w): _likeness(s, w, s in typos) for s in said for w in every}

    def present(word: str) -> bool:
        return any(likes[s, word] for s in said)

    hits = {s: max((likes[s, w] for words in terms.names for w in words), default=0.0) for s in said}
    explains = frozenset(s for s, hit in hits.items() if hit)
    score = CATEGORY if any(map(present, terms.category)) else 0.0
    if explains:
        coverage = sum(map(present, terms.name)) / len(terms.name) if terms.name else 0.0
        whole = any(all(map(present, words)) for words in terms.names)
        score += sum(hits.values()) + COVERAGE * coverage + WHOLE_NAME * whole
    return score, explains


def _extras(product: Product, text: str, size: Size | None) -> float:
    """Points the message earns a product beyond its words: its SKU, its whole name, its size."""
    score = 0.0
    if len(product.sku) > 2 and re.search(rf"(?<![\w-]){re.escape(product.sku)}(?![\w-])", text, re.IGNORECASE):
        score += SKU
    if f" {' '.join(_tokens(product.name))} " in f" {' '.join(_tokens(text))} ":
        score += NAME_AS_WRITTEN
    sizes = sizes_in(product.name)
    if size is not None and sizes:
        score += SIZE if size in sizes else -SIZE
    return score


def _scored(text: str, products: Sequence[Product], aliases: Mapping[int, Sequence[str]]) -> list[_Scored]:
    amounts = read_amounts(text)
    said = set(_words(amounts.rest))
    terms = [_Terms.of(p, aliases.get(p.id, ())) for p in products]
    vocabulary = frozenset().union(*(t.vocabulary for t in terms))
    # A word the catalog holds as written is not also read as a typo of another ("rice", not "price").
    typos = {s for s in said if not _forms(s) & vocabulary}
    results = []
    for product, product_terms in zip(products, terms, strict=True):
        words, explains = _score(product_terms, said, typos)
        extras = _extras(product, text, amounts.size)
        if words > 0 or extras >= SKU:
            results.append(_Scored(product, words + extras, explains))
    return sorted(results, key=lambda r: -r.score)


def rank(text: str, products: Sequence[Product], aliases: Mapping[int, Sequence[str]] = _NO_ALIASES) -> list[Match]:
    """The products a message names, best first; `aliases` are the merchant's other names per product id."""
    return [Match(r.product, round(r.score, 3)) for r in _scored(text, products, aliases)]


def best(text: str, products: Sequence[Product], aliases: Mapping[int, Sequence[str]] = _NO_ALIASES) -> Product | None:
    """The one product the message clearly names, or None when it names none, several or another too."""
    scored = _scored(text, products, aliases)
    if not scored or scored[0].score < LEAST:
        return None
    top, others = scored[0], scored[1:]
    if others and top.score - others[0].score < MARGIN:
        return None
    # "sugar and bread": a product accounting for words the top one does not means a second product.
    if any(not other.explains <= top.explains for other in others):
        return None
    return top.product


def choices(
    text: str, products: Sequence[Product], aliases: Mapping[int, Sequence[str]] = _NO_ALIASES
) -> list[Product]:
    """The products to offer when the message is not clear: those scoring near the top, at most ten."""
    scored = _scored(text, products, aliases)
    if not scored:
        return []
    return [r.product for r in scored if scored[0].score - r.score < MARGIN][:MAX_CHOICES]


_ENGLISH_ORDINALS = {
    word: n
    for n, words in enumerate(
        ("first 1st", "second 2nd", "third 3rd", "fourth 4th", "fifth 5th", "sixth 6th", "seventh 7th",
         "eighth 8th", "ninth 9th", "tenth 10th"), start=1
    )
    for word in words.split()
}  # fmt: skip
_SWAHILI_ORDINALS = {"kwanza": 1, "pili": 2, "tatu": 3, "nne": 4, "tano": 5, "sita": 6, "saba": 7, "nane": 8,
                     "tisa": 9, "kumi": 10}  # fmt: skip
_ONE = r"(?:\s+(?:one|item|option|product|moja))?\b"
_I = re.IGNORECASE
_ENGLISH_ORDINAL = re.compile(rf"\b(?:the\s+)?(?P<n>{'|'.join(_ENGLISH_ORDINALS)}){_ONE}", _I)
_LAST = re.compile(rf"\b(?:the\s+)?last{_ONE}|\b(?:ya|wa|la|cha)\s+mwisho\b", _I)
_NUMBERED = re.compile(r"(?:#\s*|\b(?:no\.?|number|namba|nambari|num)\s*#?\s*)(?P<n>\d{1,2})\b", _I)
# "ya pili", "hiyo ya 3"; but "ya 3L" is a size and "ya 3 kg" too.
_UNIT_WORD = "|".join(sorted(UNITS, key=len, reverse=True))
_SWAHILI_ORDINAL = re.compile(
    rf"\b(?:ya|wa|la|cha)\s+(?P<n>{'|'.join(_SWAHILI_ORDINALS)}|\d{{1,2}}(?![\w.,])(?!\s*(?:{_UNIT_WORD})\b))\b", _I
)
_THAT_ONE = re.compile(r"\b(?:that|this|it|hiyo|hii|ile|hiyo\s+moja|that\s+one|this\s+one)\b", _I)
_THOSE = re.compile(r"\b(?:(?:of\s+)?(?:those|these|them)|(?:za\s+|ya\s+)?(?:hizo|hizi|zile))\b", _I)
_PRONOUN_ONE = re.compile(r"\bones?\b", _I)

Key = Callable[[Product], tuple[str, int] | None]


def _price(product: Product) -> tuple[str, int]:
    return product.price.currency, product.price.minor


def _only_size(product: Product) -> tuple[str, int] | None:
    sizes = sizes_in(product.name)
    return (sizes[0].unit, sizes[0].amount) if len(sizes) == 1 else None


# "the cheaper one", "ya bei rahisi", "the bigger one": the one product at an end of the list.
_COMPARISONS: list[tuple[re.Pattern[str], Key, bool]] = [
    (re.compile(r"\b(?:the\s+)?cheap(?:er|est)?(?:\s+ones?)?\b|\b(?:ya\s+)?(?:bei\s+)?rahisi\b", _I), _price, False),
    (re.compile(r"\b(?:the\s+)?(?:more|most)\s+expensive(?:\s+ones?)?\b|\b(?:ya\s+)?(?:bei\s+)?ghali\b", _I),
     _price, True),
    (re.compile(r"\b(?:the\s+)?(?:bigger|biggest|larger|largest|big)(?:\s+ones?)?\b|\b(?:ya\s+)?kubwa\b", _I),
     _only_size, True),
    (re.compile(r"\b(?:the\s+)?(?:smaller|smallest|small)(?:\s+ones?)?\b|\b(?:ya\s+)?ndogo\b", _I),
     _only_size, False),
]  # fmt: skip


def _at_end(shown: Sequence[Product], key: Key, highest: bool) -> Product | None:
    """The one product with the lowest (or highest) key, when every product shown has a comparable key."""
    keys = [key(p) for p in shown]
    known = [k for k in keys if k is not None]
    if len(shown) < 2 or len(known) < len(keys) or len({unit for unit, _ in known}) > 1:
        return None  # grams and millilitres do not compare, nor a product without a size
    end = max(known) if highest else min(known)
    ends = [p for p, k in zip(shown, keys, strict=True) if k == end]
    return ends[0] if len(ends) == 1 else None


def _by_position(text: str, shown: Sequence[Product]) -> tuple[Product | None, re.Match[str]] | None:
    """The product at the position the text names ("2nd", "ya pili", "no. 2", "the last one")."""
    for pattern, words in ((_ENGLISH_ORDINAL, _ENGLISH_ORDINALS), (_SWAHILI_ORDINAL, _SWAHILI_ORDINALS)):
        if m := pattern.search(text):
            n = words.get(m["n"].lower()) or int(m["n"])
            return (shown[n - 1] if 1 <= n <= len(shown) else None), m
    if m := _NUMBERED.search(text):
        return (shown[int(m["n"]) - 1] if 1 <= int(m["n"]) <= len(shown) else None), m
    if m := _LAST.search(text):
        return (shown[-1] if shown else None), m
    return None


def _by_size(text: str, shown: Sequence[Product]) -> Product | None:
    """The one product shown with the size the message gives, if the message names nothing else."""
    amounts = read_amounts(text)
    if amounts.size is None:
        return None
    fits = [p for p in shown if amounts.size in sizes_in(p.name)]
    if len(fits) != 1:
        return None
    name = _Terms.of(fits[0], ()).name
    others = [s for s in _words(amounts.rest) if not any(_likeness(s, w, True) for w in name)]
    return None if others else fits[0]


def _cut(text: str, m: re.Match[str]) -> str:
    return text[: m.start()] + " " + text[m.end() :]


def _referred(text: str, shown: Sequence[Product]) -> tuple[Product | None, str]:
    """The product the text refers to, and the text left once the reference is taken out."""
    if found := _by_position(text, shown):
        return found[0], _cut(text, found[1])
    if product := _by_size(text, shown):
        return product, text
    for pattern, key, highest in _COMPARISONS:
        if m := pattern.search(text):
            return _at_end(shown, key, highest), _cut(text, m)
    for pattern in (_THAT_ONE, _THOSE):  # "that one", "2 of those": only when a single product was shown
        if m := pattern.search(text):
            return (shown[0] if len(shown) == 1 else None), _cut(text, m)
    return None, text


def pick_from_shown(text: str, shown: Sequence[Product]) -> Pick | None:
    """The product a message picks from a list just shown ("the second one", "ya pili", "hiyo ya 3L",
    "2 of those"), with the quantity it asks for. A bare number is not a pick: the caller decides."""
    product, rest = _referred(text or "", shown)
    if product is None:
        return None
    # "the 1L one": a pronoun, not a count; a count of one is the default anyway.
    return Pick(product, read_amounts(_PRONOUN_ONE.sub(" ", rest)).quantity)
