"""Users (admins): add, disable, reset passwords, change roles; and the audit log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aigc_core.users import accounts, audit
from aigc_core.users.roles import ROLES, current
from pages._ui import guard, literal, page_header

page_header("Users", "Who may sign in, with which role; and who did what (the audit log).")
me = current()
if not me.is_admin:
    st.warning("Only an admin may manage users.")
    st.stop()

tab_users, tab_audit = st.tabs(["Users", "Audit log"], key="users_tabs")

with tab_users:
    users = guard(accounts.list_users, actor=me) or []
    if users:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "user": u.name,
                        "role": u.role,
                        "state": "disabled" if u.disabled else ("locked" if u.locked_until else "active"),
                        "sign-in": "single sign-on" if u.sso else "password",
                        "e-mail": u.email,
                        "last sign-in": u.last_login_at,
                    }
                    for u in users
                ]
            ),
            hide_index=True,
            key="users_table",
        )
    left, right = st.columns(2)
    with left, st.form("user_add_form", clear_on_submit=True):
        st.markdown("**Add a user**")
        name = st.text_input("User name", key="user_add_name")
        role = st.selectbox("Role", ROLES, index=1, key="user_add_role")
        email = st.text_input("E-mail (optional; links a single sign-on identity)", key="user_add_email")
        pw = st.text_input("First password (tell them to change it)", type="password", key="user_add_password")
        if st.form_submit_button("Add user", type="primary", key="user_add_submit"):
            added = guard(accounts.add_user, name, pw, role, actor=me, email=email)
            if added is not None:
                st.toast(f"Added {literal(added.name)} ({added.role}).")
                st.rerun()
    with right:
        st.markdown("**Change a user**")
        names = [u.name for u in users]
        who = st.selectbox("User", names, key="user_edit_name") if names else None
        if who:
            info = next(u for u in users if u.name == who)
            new_role = st.selectbox("Role", ROLES, index=ROLES.index(info.role), key="user_edit_role")
            c1, c2 = st.columns(2)
            if c1.button("Save role", key="user_edit_save_role") and guard(accounts.set_role, who, new_role, actor=me):
                st.rerun()
            label = "Enable" if info.disabled else "Disable"
            if c2.button(label, key="user_edit_disable") and guard(
                accounts.set_disabled, who, not info.disabled, actor=me
            ):
                st.rerun()
            new_pw = st.text_input("New password", type="password", key="user_edit_password")
            if st.button("Set password (lifts a lock-out)", key="user_edit_set_password") and guard(
                accounts.reset_password, who, new_pw, actor=me
            ):
                st.toast(f"New password set for {literal(who)}.")

with tab_audit:
    c1, c2, c3 = st.columns(3)
    who_filter = c1.text_input("User", key="audit_who")
    action_filter = c2.text_input("Action starts with (e.g. job., user., signin)", key="audit_action")
    limit = c3.number_input("Rows", min_value=10, max_value=10_000, value=500, step=100, key="audit_limit")
    entries = guard(audit.list_events, actor=me, who=who_filter.strip(), action=action_filter.strip(), limit=int(limit))
    if entries:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "when": e.at,
                        "user": e.actor,
                        "action": e.action,
                        "object": f"{e.object_kind}:{e.object_id}" if e.object_kind else e.object_id,
                        "allowed": e.allowed,
                        "detail": str(e.detail) if e.detail else "",
                    }
                    for e in entries
                ]
            ),
            hide_index=True,
            key="audit_table",
        )
        st.download_button("Export CSV", audit.export_csv(entries), "audit-log.csv", "text/csv", key="audit_export")
    elif entries is not None:
        st.info("No events match.")
