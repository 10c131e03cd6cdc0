"""Manage users from the server's terminal (the operator acts as the system admin).

python -m aigc_core.users add --admin NAME        # asks for the password (or --password-stdin)
python -m aigc_core.users add NAME --role editor
python -m aigc_core.users list
python -m aigc_core.users set-role NAME viewer
python -m aigc_core.users disable NAME | enable NAME
python -m aigc_core.users reset-password NAME
python -m aigc_core.users audit [--who NAME] [--action user.] [--csv FILE]
python -m aigc_core.users setup-token             # the first admin's one-time token (while nobody has an account)
"""

from __future__ import annotations

import argparse
import getpass
import sys

from aigc_core.errors import AigcError


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AigcError("The two passwords differ.", hint="Run the command again.")
    return first


def main(argv: list[str] | None = None) -> int:
    """Run one user-management command; 0 on success, 1 with the error on stderr."""
    from aigc_core.store import init_store
    from aigc_core.users import accounts, audit
    from aigc_core.users.roles import ROLES, SYSTEM

    ap = argparse.ArgumentParser(prog="python -m aigc_core.users", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="same as --role admin")
    add.add_argument("--role", choices=ROLES, default="editor")
    add.add_argument("--email", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    sub.add_parser("list", help="list users")
    sr = sub.add_parser("set-role", help="change a user's role")
    sr.add_argument("name")
    sr.add_argument("role", choices=ROLES)
    for cmd in ("disable", "enable"):
        sub.add_parser(cmd, help=f"{cmd} a user").add_argument("name")
    rp = sub.add_parser("reset-password", help="set a new password and lift a lock-out")
    rp.add_argument("name")
    rp.add_argument("--password-stdin", action="store_true")
    au = sub.add_parser("audit", help="print (or export) the audit log")
    au.add_argument("--who", default="")
    au.add_argument("--action", default="")
    au.add_argument("--limit", type=int, default=100)
    au.add_argument("--csv", default="")
    sub.add_parser("setup-token", help="print the first admin's one-time set-up token")
    args = ap.parse_args(argv)
    try:
        init_store()
        if args.cmd == "add":
            role = "admin" if args.admin else args.role
            if role == "admin":
                info = accounts.add_admin_cli(args.name, _password(args))
            else:
                info = accounts.add_user(args.name, _password(args), role, actor=SYSTEM, email=args.email)
            print(f"Added {info.name} ({info.role}). They sign in on the app's sign-in page.")
        elif args.cmd == "list":
            for u in accounts.list_users(actor=SYSTEM):
                state = "disabled" if u.disabled else ("locked" if u.locked_until else "active")
                print(f"{u.name:24} {u.role:7} {state:9} {u.email}")
        elif args.cmd == "set-role":
            print(f"{accounts.set_role(args.name, args.role, actor=SYSTEM).name} is now {args.role}.")
        elif args.cmd in ("disable", "enable"):
            accounts.set_disabled(args.name, args.cmd == "disable", actor=SYSTEM)
            print(f"{args.name} {args.cmd}d.")
        elif args.cmd == "reset-password":
            accounts.reset_password(args.name, _password(args), actor=SYSTEM)
            print(f"New password set for {args.name}.")
        elif args.cmd == "audit":
            entries = audit.list_events(actor=SYSTEM, who=args.who, action=args.action, limit=args.limit)
            if args.csv:
                with open(args.csv, "wb") as fh:
                    fh.write(audit.export_csv(entries))
                print(f"{len(entries)} events written to {args.csv}.")
            for e in entries if not args.csv else []:
                flag = "" if e.allowed else " DENIED"
                print(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:16} {e.action:20} {e.object_kind}:{e.object_id}{flag}")
        elif args.cmd == "setup-token":
            token = accounts.setup_token()
            print(token if token else "Someone has an account already: add users with `add NAME`.")
    except AigcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
