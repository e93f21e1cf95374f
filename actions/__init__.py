"""The action-server code base: thin rasa-sdk actions over the commerce core.

rasa-sdk imports every module of this package at start-up, so no module may do work
at import time: engines, clients and connections are created in `actions.runtime`.
"""
