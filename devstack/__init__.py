"""Local development and test stack: embedded PostgreSQL and Redis, model training, processes.

Used by `make chat` (see `devstack.chat`) and by the test fixtures, so a developer's
shell and the test suite start things the same way. Nothing here runs in production.
"""
