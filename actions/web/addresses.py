"""Where a request comes from, for the limits per address (sign-in attempts, rejected callbacks)."""

from __future__ import annotations

from sanic import Request

ADDRESS_LENGTH = 64  # the columns that keep it (rejected messages and their counts); an IPv6 address has at most 45


def client_address(request: Request, trusted_header: str) -> str:
    """The socket peer's address; behind a proxy, the right-most address of TRUSTED_PROXY_HEADER (the one
    the proxy appended: whatever stands left of it, the client may have written). Without that setting
    (`trusted_header` empty) no header is read, whoever sends it."""
    if trusted_header:
        hops = [hop.strip() for value in request.headers.getall(trusted_header, []) for hop in value.split(",")]
        if hops and hops[-1]:
            return hops[-1][:ADDRESS_LENGTH]
    return request.ip or "unknown"
