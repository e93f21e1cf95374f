"""The sidecar's HTTP surface, one blueprint per area: payment callbacks and webhooks (`webhooks`),
the admin pages (`admin/`), the order API (`orders_api`); `app` is the sidecar's app factory.

Only the sidecar imports this package; the action server never does (tests/unit/test_architecture.py)."""
