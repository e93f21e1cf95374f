"""WhatsApp Cloud API: what the channel in bot/channels/whatsapp.py is made of, in plain Python.

- settings: configuration from the environment
- inbound:  webhook payloads -> customer messages -> Rasa turns
- inbox:    de-duplication, ordering and debounce of a conversation's messages, in Redis
- outbound: Rasa replies -> Graph API message bodies within WhatsApp's limits
- graph:    sending them, with retries and the 24-hour window
"""
