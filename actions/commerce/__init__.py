"""The commerce domain and its use cases, in plain Python.

Nothing here imports rasa_sdk, sanic or SQLAlchemy: storage is reached through the
`UnitOfWork` protocol in `ports`, implemented over PostgreSQL in `actions.db`.
"""
