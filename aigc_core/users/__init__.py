"""Users, roles, ownership and the audit log: who is acting, and the one rule every engine function checks."""

from aigc_core.users.roles import (
    LOCAL,
    ROLES,
    SYSTEM,
    Actor,
    Role,
    acting_as,
    allowed,
    current,
    require,
    set_current,
    set_process_actor,
    visible_filter,
)

__all__ = [
    "LOCAL",
    "ROLES",
    "SYSTEM",
    "Actor",
    "Role",
    "acting_as",
    "allowed",
    "current",
    "require",
    "set_current",
    "set_process_actor",
    "visible_filter",
]
