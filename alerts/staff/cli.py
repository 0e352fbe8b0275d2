"""``bousai staff create-admin``: the first administrator (every other account is made through the API)."""

from __future__ import annotations

import asyncio
import getpass
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("staff", help="staff accounts")
    sub = p.add_subparsers(dest="staff_command", metavar="SUBCOMMAND")
    sub.required = True
    c = sub.add_parser("create-admin", help="create an administrator account")
    c.add_argument("--username", required=True)
    c.add_argument("--display-name", default=None)
    c.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (else BOUSAI_ADMIN_PASSWORD or a prompt)"
    )
    c.set_defaults(func=_create_admin)


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    from alerts.staff.settings import get_staff_settings

    given = get_staff_settings().admin_password
    if given is not None and given.get_secret_value():
        return given.get_secret_value()
    return getpass.getpass("password: ")


def _create_admin(args) -> int:
    from pydantic import ValidationError

    from server.errors import AppError
    from alerts.staff.schemas import AccountIn

    try:
        data = AccountIn(
            username=args.username,
            display_name=args.display_name or args.username,
            password=_read_password(args),
            role="admin",
        )
    except ValidationError as exc:
        for e in exc.errors():
            print(f"error: {'.'.join(map(str, e['loc']))}: {e['msg']}", file=sys.stderr)
        return 2
    try:
        account_id = asyncio.run(_create(data))
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"created administrator {data.username} (id {account_id})")
    return 0


async def _create(data) -> int:
    from server.db import make_engine, make_sessionmaker, unit_of_work
    from server.discovery import import_all_models
    from server.settings import get_settings
    from alerts.staff.service import create_account

    import_all_models()
    engine = make_engine(get_settings(), pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            account = await create_account(session, None, data)
            return account.id
    finally:
        await engine.dispose()
