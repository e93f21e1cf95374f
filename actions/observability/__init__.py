"""Operations: JSON logs, correlation ids, metrics and readiness, shared by the action server, sidecar and worker."""
