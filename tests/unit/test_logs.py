"""Log lines are JSON, carry what is known about the work at hand, and never hold secrets or whole phone numbers."""

import io
import json
import logging

import pytest

from actions.observability import correlation, logs
from tests.phone_masks import LEFT_ALONE, MASKED


@pytest.fixture
def lines():
    """Configure logging into a buffer; return a function that gives the JSON lines written so far."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()

    def configure(level="INFO", levels=None):
        logs.configure(level, levels, stream=buffer)

    def written():
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    configure()
    written.configure = configure
    yield written
    for name in ("payments", "sidecar"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.captureWarnings(False)
    logs.begin()


def test_a_line_is_one_json_object_with_the_bound_fields_and_the_extras(lines):
    logs.begin(correlation_id="abc123", tenant="demo-shop")
    with logs.bind(payment_id=7, provider="mpesa"):
        logging.getLogger("payments.webhooks").info("payment %s: %s", 7, "applied", extra={"order_id": 3})
    logging.getLogger("payments.webhooks").warning("after the block")

    first, second = lines()
    assert first["ts"].endswith("+00:00") and first["level"] == "INFO" and first["logger"] == "payments.webhooks"
    assert first["message"] == "payment 7: applied"
    assert {k: first[k] for k in ("correlation_id", "tenant", "payment_id", "provider", "order_id")} == {
        "correlation_id": "abc123", "tenant": "demo-shop", "payment_id": 7, "provider": "mpesa", "order_id": 3,
    }  # fmt: skip
    assert second["correlation_id"] == "abc123" and "payment_id" not in second


def test_an_exception_is_in_the_line_without_its_secrets(lines):
    try:
        raise RuntimeError("refused: Authorization: Bearer eyJhbGciOi.secret-token")
    except RuntimeError:
        logging.getLogger("payments").exception("daraja call failed")
    [line] = lines()
    assert "RuntimeError" in line["exception"] and "secret-token" not in line["exception"]


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        ("GET /oauth with Authorization: Bearer c9SQxWWhmdVRlyh0zh8gZDTkubVF", "c9SQxWWhmdVRlyh0zh8gZDTkubVF"),
        ("headers {'Authorization': 'Basic ZGV2LWtleTpzZWNyZXQ='}", "ZGV2LWtleTpzZWNyZXQ="),
        ('push body {"Password": "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkz"}', "MTc0Mzc5YmZi"),
        ("MPESA_PASSKEY=bfb279f9aa9bdbcf158e97dd71a467cd", "bfb279f9aa9bdbcf158e97dd71a467cd"),
        ("consumer_secret: s3cr3t-value", "s3cr3t-value"),
        ("password=hunter2&user=me", "hunter2"),
        ("paystack key sk_test_4f2a9c0e1b7d", "sk_test_4f2a9c0e1b7d"),
        ("connecting to postgresql://shop:pa55word@db.example:5432/shop", "pa55word"),
        ("POST http://rasa:5005/conversations/x/trigger_intent?output_channel=latest&token=rasa-t0ken", "rasa-t0ken"),
        ("callback to /payments/mpesa/callback/12.Zm9vYmFyYmF6cXV4 refused", "Zm9vYmFyYmF6cXV4"),
        ("graph token EAAdev0123456789abcdef0123456789", "EAAdev0123456789abcdef0123456789"),
        ("GET /admin/invite/aGVsbG8td29ybGQtaW52aXRlLXRva2VuLTEyMzQ1Njc: 200", "aGVsbG8td29ybGQtaW52aXRl"),
    ],
)
def test_secrets_are_redacted(lines, message, leaked):
    logging.getLogger("payments").info(message)
    [line] = lines()
    assert leaked not in line["message"] and logs.REDACTED in line["message"]


@pytest.mark.parametrize(("message", "shown"), MASKED)
def test_phone_numbers_of_every_country_are_masked(lines, message, shown):
    logging.getLogger("payments").info("%s", message)
    [line] = lines()
    assert line["message"] == shown


@pytest.mark.parametrize("message", LEFT_ALONE)
def test_other_numbers_are_left_alone(lines, message):
    logging.getLogger("payments").info("%s", message)
    [line] = lines()
    assert line["message"] == message


def test_extra_fields_are_scrubbed_too_but_correlation_ids_stay_whole(lines):
    logging.getLogger("payments").info("who", extra={"phone": "254712345678", "origin_correlation_id": "turn-12345678"})
    assert (lines()[0]["phone"], lines()[0]["origin_correlation_id"]) == ("254***678", "turn-12345678")


def test_levels_per_logger_prefix(lines):
    lines.configure("INFO", logs.parse_levels("payments=DEBUG, sidecar=warning"))
    logging.getLogger("payments.reconcile").debug("shown: payments is at DEBUG")
    logging.getLogger("sidecar.http").info("hidden: sidecar is at WARNING")
    logging.getLogger("other").debug("hidden: the rest is at INFO")
    logging.getLogger("other").info("shown")
    assert [line["message"] for line in lines()] == ["shown: payments is at DEBUG", "shown"]


@pytest.mark.parametrize("spec", ["payments", "payments=LOUD", "=DEBUG"])
def test_a_wrong_log_levels_setting_is_refused_with_its_form(spec):
    with pytest.raises(ValueError, match="<logger prefix>="):
        logs.parse_levels(spec)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_X.y", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("has space", False),
        ("<script>", False),
        ("", False),
    ],
)
def test_a_correlation_id_is_taken_only_when_sane(given, kept):
    taken = correlation.take(given)
    assert (taken == given) is kept
    assert correlation.sane(taken) == taken
