"""Rasa input and output channels (configured in credentials.yml)."""
