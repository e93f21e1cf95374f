"""Small pieces of text that actions build into lists (a status, "out of stock"), per language.

Whole replies live in domain.yml; these are only the fragments inside generated lists.
"""

from __future__ import annotations

from rasa_sdk import Tracker

PHRASES = {
    "en": {
        "out_of_stock": "out of stock",
        "in_stock": "in stock",
        "more": "…and {count} more",
        "mpesa": "M-Pesa ({phone})",
        "card": "card",
        "use_number": "Use {phone}",
        "pending_payment": "waiting for payment",
        "paid": "paid",
        "cancelled": "cancelled",
        "expired": "expired (not paid in time)",
        "packed": "packed, ready to go",
        "out_for_delivery": "on its way to you",
        "delivered": "delivered",
    },
    "sw": {
        "out_of_stock": "imeisha",
        "in_stock": "ipo",
        "more": "…na {count} zaidi",
        "mpesa": "M-Pesa ({phone})",
        "card": "kadi",
        "use_number": "Tumia {phone}",
        "pending_payment": "inasubiri malipo",
        "paid": "imelipwa",
        "cancelled": "imeghairiwa",
        "expired": "imepitwa na muda (haikulipwa)",
        "packed": "imefungwa, tayari kusafirishwa",
        "out_for_delivery": "iko njiani kukufikia",
        "delivered": "imefikishwa",
    },
}


def language(tracker: Tracker) -> str:
    return tracker.get_slot("language") if tracker.get_slot("language") in PHRASES else "en"


def phrase(tracker: Tracker, key: str, **values: object) -> str:
    return PHRASES[language(tracker)][key].format(**values)
