import pytest

from actions.commerce.payments import PaymentStatus as S
from actions.commerce.payments import Settlement, settle

ENDINGS = [S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED]


@pytest.mark.parametrize("outcome", ENDINGS)
def test_a_pending_payment_takes_any_ending(outcome):
    assert settle(S.PENDING, outcome) == Settlement(outcome, changed=True)


@pytest.mark.parametrize("current", ENDINGS)
@pytest.mark.parametrize("outcome", [*ENDINGS, S.PENDING])
def test_an_ending_is_never_undone(current, outcome):
    result = settle(current, outcome)
    assert (result.status, result.changed) == (current, False)


@pytest.mark.parametrize("current", [S.FAILED, S.CANCELLED, S.EXPIRED])
def test_money_arriving_after_the_end_is_flagged_for_staff(current):
    assert settle(current, S.PAID).needs_review is True


def test_a_repeated_success_is_not_flagged():
    assert settle(S.PAID, S.PAID).needs_review is False
    assert settle(S.PENDING, S.PENDING).changed is False
