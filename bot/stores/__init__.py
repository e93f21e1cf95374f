"""Rasa's conversation state, configured in endpoints.yml:

- tracker.py: SessionTrackerStore, the live session in Redis (appended to, never rewritten) and
  earlier sessions archived in PostgreSQL, so a turn costs the same for a customer of years;
- lock.py: TicketLockStore, one conversation's messages one at a time across several Rasa
  servers, tickets issued atomically in Redis;
- connection.py: the Redis connection both read from the endpoint configuration.
"""
