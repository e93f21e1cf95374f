"""The phone numbers both sides mask (actions/commerce/phones.py, bot/logs.py), written as people and
systems write them, and the text both leave alone. Plain data: imported by tests in either environment."""

MASKED = [
    # Kenya
    ("254712345678", "254***678"),
    ("+254712345678", "+254***678"),
    ("+254 712 345 678", "+254***678"),
    ("0712 345 678", "071***678"),
    ("0110345678", "011***678"),
    # Nigeria
    ("2348031234567", "234***567"),
    ("+234 803 123 4567", "+234***567"),
    ("08031234567", "080***567"),
    # Ghana
    ("233241234567", "233***567"),
    ("+233 24 123 4567", "+233***567"),
    ("024 123 4567", "024***567"),
    # Tanzania
    ("255754123456", "255***456"),
    ("+255 754 123 456", "+255***456"),
    ("0754 123 456", "075***456"),
    # United Kingdom
    ("447700900123", "447***123"),
    ("+44 7700 900123", "+447***123"),
    ("07700 900123", "077***123"),
    # United States
    ("14155550100", "141***100"),
    ("+1 415 555 0100", "+141***100"),
    # short national numbers keep only their last three digits
    ("+683 4002 55", "+***255"),
    # in context
    ("STK push to 254712345678 sent", "STK push to 254***678 sent"),
    ("customer 0712345678 and 0110345678.", "customer 071***678 and 011***678."),
    ("conversation 106540352242922:254112345678", "conversation 106***922:254***678"),
    (
        "POST /conversations/106540352242922%3A2348031234567/trigger_intent",
        "POST /conversations/106***922%3A234***567/trigger_intent",
    ),
    ("to=447700900123&text=hi", "to=447***123&text=hi"),
    ('{"wa_id": "14155550100"}', '{"wa_id": "141***100"}'),
    ("call +254 712 345 678 now", "call +254***678 now"),
    ("254712345678 1800", "254***678 1800"),  # a number after it is not taken for more of it
]

LEFT_ALONE = [
    "order ORD-7K2Q total 1800, checkout ws_CO_191220191020363925",
    "request 29115-34620561-1 at 2026-12-01T10:15:00",
    "amount 12345678.50 KES",
    "correlation_id=5f3a9c21b7e04d6e8f1a2b3c4d5e6f70",
    "version 3.6.21, 4 messages in 35 ms",
    "card 4242424242424242",  # 16 digits: no phone number
    "M-Pesa masked it already: 2547******149",
    "1234567",
]
