"""The Sanic sidecar: the public process for payment callbacks and webhooks (admin pages later)."""
