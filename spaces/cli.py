"""The `spaces` command: run the parts, manage the catalog, print tokens, benchmark.

Commands import the catalog (SQLAlchemy), the portal (Flask) or the room server
(aiortc) inside their own functions: each of those takes about a second to load, and
a command should pay only for the parts it uses.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from core.config import Config
from core.logs import setup_logging
from core.roomtokens import mint_room_token
from rooms.config import ConfigError, IceSettings, RoomsConfig, add_ice_flags, env_with_flags
from spaces.bench import BENCHMARKS, run_benchmarks
from spaces.supervise import ChildFailed
from spaces.up import Stack, run_up

if TYPE_CHECKING:
    from core.services import Services


VERBOSE_HELP = "show every part's log (each job, request and migration step)"
KIND_HELP = (
    "how to read it: page, feed, sitemap, directory, mastodon, bluesky, xsearch or nostr "
    "(default: recognised from the URL, else page)"
)
QUERY_HELP = "what to ask for: a search (bluesky, xsearch) or comma-separated tags (nostr)"


class CommandError(Exception):
    """A command that cannot go on; the message says what to do."""


def _progress(done: int, total: int) -> None:
    print(f"\r  {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    # The room server runs as a child process reading the environment: the NAT flags
    # reach it there, checked first so a bad value stops `spaces up` before it starts.
    os.environ.update(_rooms_env(args))
    return run_up(
        Config.from_env(),
        port=args.port,
        rooms_port=args.rooms_port,
        host=args.host,
        verbose=args.verbose,
    )


def cmd_portal(args: argparse.Namespace) -> int:
    with Stack(Config.from_env(), verbose=args.verbose) as stack:
        stack.prepare_catalog()
        stack.start_portal(args.host, args.port)
        return stack.wait()


def cmd_rooms(args: argparse.Namespace) -> int:
    from rooms.server import serve  # the room server: aiortc, slow to load

    try:
        config = RoomsConfig.from_env(env_with_flags(args))
    except ConfigError as error:
        raise CommandError(str(error)) from None
    serve(config, host=args.host, port=args.port)
    return 0


def _rooms_env(args: argparse.Namespace) -> dict[str, str]:
    """Return the environment with the room server's NAT flags laid over it, checked."""
    env = env_with_flags(args)
    try:
        IceSettings.from_env(env)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    return env


def cmd_worker(args: argparse.Namespace) -> int:
    queues = [q for part in args.queues for q in part.split(",") if q] or None
    with Stack(Config.from_env(), verbose=args.verbose) as stack:
        stack.prepare_catalog()
        stack.start_worker(queues=queues, scheduler=not args.no_scheduler)
        return stack.wait()


def cmd_relays(args: argparse.Namespace) -> int:
    with Stack(Config.from_env(), verbose=args.verbose) as stack:
        stack.prepare_catalog()
        stack.start_relays()
        return stack.wait()


def cmd_crawl(args: argparse.Namespace) -> int:
    from core.catalog.migrate import upgrade  # the catalog: SQLAlchemy, slow to load
    from core.catalog.sources import SOURCE_KINDS
    from core.services import build_services
    from spaces.sources import add_sources, crawl_by_kind

    if args.kind and args.kind not in SOURCE_KINDS:
        raise CommandError(
            f"unknown kind {args.kind!r}; use one of {', '.join(sorted(SOURCE_KINDS))}"
        )
    if not args.urls and args.kind != "xsearch":
        raise CommandError("give at least one URL to crawl (only --kind xsearch needs none)")
    config = Config.from_env()
    upgrade(config.database_url)
    services = build_services(config)
    services.search.ensure()
    report, _kinds = crawl_by_kind(
        args.urls,
        config,
        kind=args.kind,
        query=args.query,
        depth=args.depth,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    for space in report.spaces:
        print(f"{space['state'] or 'unknown':9}  {space['url']}  {space['title']}")
    print(
        f"{report.pages} pages, {len(report.spaces)} spaces, {report.errors} errors, "
        f"{report.refused} refused, {report.duration_s:.1f} s",
        file=sys.stderr,
    )
    if not args.once:
        add_sources(services, args.urls, kind=args.kind, query=args.query, depth=args.depth)
        print("Added as sources: the worker re-crawls them on schedule.", file=sys.stderr)
    return 0 if report.pages or not report.errors else 1


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from core.catalog.migrate import upgrade  # the catalog: SQLAlchemy, slow to load

    config = Config.from_env()
    upgrade(config.database_url)
    print(f"Catalog at {_safe_url(config.database_url)} is up to date.")
    return 0


def cmd_search_reindex(args: argparse.Namespace) -> int:
    from core.services import build_services  # the catalog: SQLAlchemy, slow to load

    services = build_services(Config.from_env())
    services.search.ensure()
    count = services.sync.reindex_all(progress=_progress)
    print(f"Reindexed {count} spaces into {services.search.name}.")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from core.catalog import sources  # the catalog: SQLAlchemy, slow to load
    from core.catalog.migrate import upgrade
    from core.services import build_services
    from core.timeutil import utcnow
    from spaces.sources import add_sources, source_lines

    config = Config.from_env()
    upgrade(config.database_url)
    services = build_services(config)
    if args.action == "recrawl":
        return _recrawl(services, args.urls)
    if args.action == "add":
        return add_sources(
            services,
            args.urls,
            kind=args.kind,
            query=args.query,
            interval_s=args.interval,
            depth=args.depth,
        )
    with services.catalog.session() as session:
        if args.action == "list":
            for line in source_lines(sources.list_sources(session), utcnow()):
                print(line)
        else:
            for url in args.urls:
                getattr(sources, f"{args.action}_source")(session, url)
                print(f"{args.action}: {url}")
    return 0


def _recrawl(services: Services, urls: list[str]) -> int:
    """Make each source due now and queue its crawl; unknown URLs are an error."""
    from core.catalog.sources import recrawl_source  # the catalog and RQ: slow to load
    from core.queues import enqueue_source_crawl

    status = 0
    for url in urls:
        # Committed before queueing: a worker may take the job before this returns.
        with services.catalog.session() as session:
            source = recrawl_source(session, url)
            found = (source.id, source.url) if source is not None else None
        if found is None:
            message = f"error: no source crawls {url}; add it first (spaces sources add)"
            print(message, file=sys.stderr)
            status = 1
            continue
        job = enqueue_source_crawl(services, found[0])
        print(f"recrawl: {found[1]} ({'queued' if job else 'already queued'})")
    return status


def cmd_user(args: argparse.Namespace) -> int:
    from core.catalog.migrate import upgrade  # the catalog and the portal: slow to load
    from core.services import build_services
    from portal.accounts.users import AccountError, create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.email}: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords differ; run the command again")
    config = Config.from_env()
    upgrade(config.database_url)
    try:
        with build_services(config).catalog.session() as session:
            user = create_user(
                session,
                args.email,
                password,
                display_name=args.name,
                is_host=args.host,
                is_admin=args.admin,
            )
            roles = ", ".join(r for r, on in (("host", args.host), ("admin", args.admin)) if on)
            print(f"user {user.id}: {user.email} ({roles or 'listener'})")
    except AccountError as error:
        raise CommandError(str(error)) from None
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    from core.catalog.migrate import upgrade  # the catalog: slow to load
    from core.catalog.users_admin import RoleError, set_roles
    from core.services import build_services
    from portal.accounts.users import find_user

    wanted = {
        name: getattr(args, name)
        for name in ("host", "admin", "protected", "suspended")
        if getattr(args, name) is not None
    }
    if not wanted:
        print("spaces: say what to change, e.g. --host or --no-host", file=sys.stderr)
        return 1
    config = Config.from_env()
    upgrade(config.database_url)
    services = build_services(config)
    try:
        with services.catalog.session() as session:
            user = find_user(session, args.email)
            if user is None:
                print(f"spaces: there is no account with the email {args.email}", file=sys.stderr)
                return 1
            changes = set_roles(session, None, user, reason=args.reason, **wanted)
            for change in changes:
                was, now = ("yes" if v else "no" for v in (change.before, change.after))
                print(f"{user.email}: {change.action} ({change.field}: {was} → {now})")
            if not changes:
                print(f"{user.email}: nothing changed; it was so already")
    except RoleError as error:
        print(f"spaces: {error}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    token = mint_room_token(
        Config.from_env().rooms_secret,
        args.identity,
        name=args.name or args.identity,
        grants=tuple(args.grant or ["listen"]),
        room=args.room or "*",
        ttl=args.ttl,
    )
    print(token)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    return run_benchmarks(Config.from_env(), args.names, quick=args.quick)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url  # SQLAlchemy: slow to load

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `spaces` command."""
    parser = argparse.ArgumentParser(prog="spaces", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.set_defaults(func=func)
        return cmd

    up = add("up", cmd_up, "run everything on one machine with the embedded defaults")
    up.add_argument("--port", type=int, default=8000, help="portal port (default 8000)")
    up.add_argument("--rooms-port", type=int, default=8100, help="room server port (8100)")
    up.add_argument("--host", default="127.0.0.1", help="address to listen on")
    up.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    add_ice_flags(up)

    portal = add("portal", cmd_portal, "run the portal web server")
    portal.add_argument("--port", type=int, default=8000)
    portal.add_argument("--host", default="127.0.0.1")
    portal.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)

    rooms = add("rooms", cmd_rooms, "run the room server")
    rooms.add_argument("--port", type=int, default=8100)
    rooms.add_argument("--host", default="127.0.0.1")
    add_ice_flags(rooms)

    worker = add("worker", cmd_worker, "run a background worker (with the scheduler)")
    worker.add_argument("--queues", nargs="*", default=[], help="queues, in priority order")
    worker.add_argument("--no-scheduler", action="store_true", help="do not run periodic jobs")
    worker.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)

    relays = add("relays", cmd_relays, "stay subscribed to the Nostr relay sources")
    relays.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)

    crawl = add("crawl", cmd_crawl, "crawl URLs now and print the spaces found")
    crawl.add_argument("urls", nargs="*", metavar="URL")
    crawl.add_argument("--once", action="store_true", help="do not add the URLs as sources")
    crawl.add_argument("--depth", type=int, default=1, help="link depth to follow (default 1)")
    crawl.add_argument("--kind", default="", help=KIND_HELP)
    crawl.add_argument("--query", default="", help=QUERY_HELP)

    db = add("db", lambda a: a.db_parser.print_help() or 2, "manage the catalog database")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    db.set_defaults(db_parser=db)

    search = add("search", lambda a: 2, "manage the search index")
    search_sub = search.add_subparsers(dest="search_command", required=True, metavar="ACTION")
    search_sub.add_parser("reindex", help="rebuild the index from the catalog").set_defaults(
        func=cmd_search_reindex
    )

    sources = add("sources", cmd_sources, "manage crawl sources")
    sources.add_argument("action", choices=["add", "list", "pause", "resume", "remove", "recrawl"])
    sources.add_argument("urls", nargs="*", metavar="URL")
    sources.add_argument("--interval", type=int, default=300, help="seconds between crawls")
    sources.add_argument("--depth", type=int, default=1)
    sources.add_argument("--kind", default="", help=KIND_HELP)
    sources.add_argument("--query", default="", help=QUERY_HELP)

    user = add("user", lambda a: a.user_parser.print_help() or 2, "manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_sub.add_parser("create", help="create an account (asks for the password)")
    create.set_defaults(func=cmd_user)
    create.add_argument("email", metavar="EMAIL")
    create.add_argument("--admin", action="store_true", help="may open /admin/")
    create.add_argument("--host", action="store_true", help="may open rooms from /host/")
    create.add_argument("--name", default="", help="display name (default: from the email)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    change = user_sub.add_parser(
        "set", help="grant or take roles, protect or suspend an account (logged with --reason)"
    )
    change.set_defaults(func=cmd_user_set)
    change.add_argument("email", metavar="EMAIL")
    for name, on_help in (
        ("host", "may open rooms from /host/"),
        ("admin", "may open /admin/"),
        ("protected", "can join and listen but never host"),
        ("suspended", "cannot sign in; every session ends"),
    ):
        change.add_argument(
            f"--{name}", action=argparse.BooleanOptionalAction, default=None, help=on_help
        )
    change.add_argument("--reason", default="", help="why, for the audit log (required)")
    user.set_defaults(user_parser=user)

    token = add("token", cmd_token, "print a signed room-server access token")
    token.add_argument("identity")
    token.add_argument("--name", default="")
    token.add_argument("--grant", action="append", choices=["host", "speak", "listen"])
    token.add_argument("--room", default="")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")

    bench = add("bench", cmd_bench, "run benchmarks and print a table")
    bench.add_argument(
        "names", nargs="*", metavar="NAME", help=f"{', '.join(BENCHMARKS)} (default: all)"
    )
    bench.add_argument("--quick", action="store_true", help="smaller, faster runs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `spaces` command."""
    args = build_parser().parse_args(argv)
    setup_logging(verbose=getattr(args, "verbose", False))
    try:
        func: Callable[[argparse.Namespace], int] = args.func  # set by add() for each command
        return func(args)
    except CommandError as error:
        print(f"spaces: {error}", file=sys.stderr)
        return 2
    except ChildFailed as error:
        print(f"spaces: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
