"""The client's address for the limits per address: the socket's peer, or what a trusted proxy appended."""

from types import SimpleNamespace

import pytest
from sanic.compat import Header

from actions.web.addresses import client_address


def request(*forwarded_for: str, peer: str = "10.0.0.5"):
    return SimpleNamespace(headers=Header([("X-Forwarded-For", value) for value in forwarded_for]), ip=peer)


@pytest.mark.parametrize(
    ("forwarded_for", "address"),
    [
        (["203.0.113.7"], "203.0.113.7"),
        (["6.6.6.6, 203.0.113.7"], "203.0.113.7"),  # the client wrote 6.6.6.6; the proxy appended the rest
        (["6.6.6.6", "203.0.113.7 "], "203.0.113.7"),  # the header twice: the proxy's line is the last
        ([], "10.0.0.5"),  # not through the proxy: the peer
        (["203.0.113.7, "], "10.0.0.5"),
    ],
)
def test_behind_a_trusted_proxy_the_right_most_forwarded_address_is_the_client(forwarded_for, address):
    assert client_address(request(*forwarded_for), "x-forwarded-for") == address


def test_without_a_trusted_proxy_header_the_header_is_never_believed():
    assert client_address(request("203.0.113.7"), "") == "10.0.0.5"
