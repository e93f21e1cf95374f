"""Admin pages for a merchant's staff, and the order API, on the sidecar.

- passwords, sessions: signing in (hashed passwords, sessions and sign-in attempts in Redis)
- store:      what the pages read and the audit log, always for one tenant
- operations: what staff can do (refresh a payment, mark it verified, hand a chat back)
- cache:      read-through cache in Redis under the shop's cache version
- views, api: the Sanic blueprints; templates/: the pages
"""
