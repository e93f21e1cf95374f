"""Shops' payment secrets: sealed with Fernet keys from SHOP_SECRETS_KEY, rotated with MultiFernet,
shown only masked, and checked before anything is stored."""

from __future__ import annotations

from secrets import token_hex

import pytest
from cryptography.fernet import Fernet

from actions.commerce.errors import NotFound, Refused
from actions.commerce.ports import StaffMember
from actions.commerce.roles import manages, require_manager, require_operator
from actions.commerce.shop_accounts import checked, mask
from actions.payments.secret_box import SecretBox, SecretsUnreadable, parse_keys
from actions.settings import Settings

# A live-looking Paystack key, made for each run: none is written in the repository.
LIVE_KEY = f"sk_live_{token_hex(10)}"
SECRETS = {"consumer_key": "ck-0123456789", "consumer_secret": "cs-abcdefghij", "passkey": "pk-ABCDEFGHIJ"}
MPESA_FORM = {"shortcode": "600111", "kind": "till", **SECRETS}


def key() -> str:
    return Fernet.generate_key().decode()


def test_sealed_secrets_open_to_what_was_sealed_and_contain_none_of_it():
    box = SecretBox([key()])
    sealed = box.seal(SECRETS)
    assert box.open(sealed) == SECRETS
    assert not any(value in sealed for value in SECRETS.values())
    assert box.seal(SECRETS) != sealed  # a fresh IV each time: equal secrets do not look equal


def test_a_token_sealed_with_another_key_or_changed_cannot_be_opened():
    sealed = SecretBox([key()]).seal(SECRETS)
    with pytest.raises(SecretsUnreadable):
        SecretBox([key()]).open(sealed)
    box = SecretBox([key()])
    tampered = box.seal(SECRETS)
    tampered = tampered[:-5] + ("A" if tampered[-5] != "A" else "B") + tampered[-4:]
    with pytest.raises(SecretsUnreadable):
        box.open(tampered)


def test_rotation_new_key_first_reseal_then_drop_the_old_key():
    old, new = key(), key()
    sealed = SecretBox([old]).seal(SECRETS)
    both = SecretBox([new, old])
    assert both.open(sealed) == SECRETS  # before resealing, the old key still opens it
    resealed = both.reseal(sealed)
    assert SecretBox([new]).open(resealed) == SECRETS  # the old key can go
    with pytest.raises(SecretsUnreadable):
        SecretBox([old]).open(resealed)


def test_the_key_setting_takes_a_comma_separated_list_and_names_a_bad_key():
    first, second = key(), key()
    assert parse_keys(f" {first} , {second} ") == [first, second]
    assert parse_keys("") == []
    with pytest.raises(ValueError, match="key 2 is not a Fernet key"):
        parse_keys(f"{first},not-a-key")
    settings = Settings.load(database_url="postgresql://x@y/z", shop_secrets_key=f"{first},{second}")
    assert settings.secret_box.open(SecretBox([second]).seal({"a": "b"})) == {"a": "b"}
    assert Settings.load(database_url="postgresql://x@y/z").secret_box is None
    assert first not in repr(settings) and repr(SecretBox([first])) == "SecretBox(…)"


@pytest.mark.parametrize(
    ("secret", "shown"),
    [(LIVE_KEY, "••••" + LIVE_KEY[-4:]), ("123456789012", "••••9012"), ("short-secret", "••••cret"),
     ("elevenchars", "••••"), ("", "••••")],
)  # fmt: skip
def test_a_secret_is_shown_as_its_last_four_characters_only_when_long_enough(secret, shown):
    assert mask(secret) == shown


def test_a_form_left_empty_keeps_the_stored_secrets_and_refuses_what_is_wrong():
    settings, secrets = checked("mpesa", {"shortcode": "600111", "kind": "paybill"}, SECRETS)
    assert settings == {"shortcode": "600111", "kind": "paybill"} and secrets == SECRETS
    with pytest.raises(Refused) as refused:
        checked("mpesa", {**MPESA_FORM, "shortcode": "12a", "kind": "wallet", "passkey": "short"})
    assert all(word in str(refused.value) for word in ("Shortcode", "till", "Passkey"))
    with pytest.raises(Refused, match="Consumer key is required"):
        checked("mpesa", {**MPESA_FORM, "consumer_key": ""})
    with pytest.raises(Refused, match="sk_live_"):
        checked("paystack", {"secret_key": "pk_live_0123456789"})
    assert checked("paystack", {"secret_key": LIVE_KEY})[1] == {"secret_key": LIVE_KEY}
    with pytest.raises(Refused):
        checked("venmo", {})


def test_operators_manage_every_shop_owners_their_own_and_staff_none():
    operator, owner, clerk = (StaffMember(1, 7, "o@x", "operator"), StaffMember(2, 7, "w@x", "owner"),
                              StaffMember(3, 7, "c@x", "staff"))  # fmt: skip
    assert manages(operator, 99) and manages(owner, 7) and not manages(owner, 99) and not manages(clerk, 7)
    require_operator(operator)
    for member in (owner, clerk):
        with pytest.raises(NotFound):
            require_operator(member)
    with pytest.raises(NotFound):
        require_manager(owner, 99)
