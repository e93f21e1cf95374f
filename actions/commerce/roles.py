"""Who may do what in the admin pages: platform operators create shops and manage any shop; a shop's
owner manages its staff and payment accounts; staff follow orders and payments."""

from __future__ import annotations

from actions.commerce.errors import NotFound
from actions.commerce.ports import StaffMember

OPERATOR, OWNER, STAFF = "operator", "owner", "staff"
ROLES = (OPERATOR, OWNER, STAFF)
SHOP_ROLES = (OWNER, STAFF)  # what an owner may give; only an operator makes operators


def is_operator(member: StaffMember) -> bool:
    return member.role == OPERATOR


def manages(member: StaffMember, tenant_id: int) -> bool:
    return member.role == OPERATOR or (member.role == OWNER and member.tenant_id == tenant_id)


def require_operator(member: StaffMember) -> None:
    """NotFound, as for any page a member may not see: the platform's pages do not exist for shop staff."""
    if not is_operator(member):
        raise NotFound("page")


def require_manager(member: StaffMember, tenant_id: int) -> None:
    if not manages(member, tenant_id):
        raise NotFound(f"shop {tenant_id}")
