"""The `helpdesk-ingest` command: the one place settings, logging and the database are built."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.exc import SQLAlchemyError

from helpdesk_ingest import __version__
from helpdesk_ingest.cli_arguments import add_prune_arguments, add_quarantine_arguments
from helpdesk_ingest.config import CONFIG_ENV_VAR, ConfigError, Settings, load_settings
from helpdesk_ingest.logs import configure_logging, redactor
from helpdesk_ingest.stopping import stop_on_signals
from helpdesk_ingest.store.schema import SchemaNotReady
from helpdesk_ingest.terminal import for_terminal

if TYPE_CHECKING:
    from helpdesk_ingest.runtime import Runtime

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETUP = 2

log = structlog.get_logger("helpdesk_ingest.cli")


def _runtime_with_workers_started(settings: Settings) -> Runtime:
    from helpdesk_ingest.workers import preparer_for

    # The parse workers start before the daemon imports the ORM, the store and the poller, so
    # that their start-up and its own overlap instead of the first group waiting for them.
    preparer = preparer_for(settings)
    preparer.start()
    from helpdesk_ingest.runtime import build_runtime

    return build_runtime(settings, preparer=preparer)


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.http_health import serve_health
    from helpdesk_ingest.scheduler import run_daemon

    runtime = _runtime_with_workers_started(settings)
    try:
        mailboxes = runtime.enabled_mailboxes()
        if not mailboxes:
            raise ConfigError("mailboxes: no enabled mailbox is configured; nothing to poll")
        jobs = {mailbox.name: partial(runtime.poll, mailbox) for mailbox in mailboxes}
        with serve_health(runtime):
            return run_daemon(
                jobs,
                settings.poll_interval_s,
                after_poll=runtime.observe,
                jitter_s=settings.poll_interval_s * settings.poll_jitter,
            )
    finally:
        runtime.close()


def _cmd_poll(settings: Settings, args: argparse.Namespace) -> int:
    runtime = _runtime_with_workers_started(settings)
    try:
        mailboxes = runtime.enabled_mailboxes()
        if args.mailbox:
            mailboxes = [settings.mailbox(name) for name in args.mailbox]
        if not mailboxes:
            raise ConfigError("mailboxes: no enabled mailbox is configured; nothing to poll")
        stop = threading.Event()
        with stop_on_signals(stop):
            results = runtime.drain(mailboxes, stop)
    finally:
        runtime.close()
    return EXIT_OK if all(result.succeeded for result in results) else EXIT_FAILED


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.runtime import build_runtime, safe_database_url

    build_runtime(settings, migrate=True).close()
    log.info("database_migrated", database=safe_database_url(settings.database_url_value))
    return EXIT_OK


def _cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.check import run_check

    lines = run_check(settings)
    for line in lines:
        # A server's answer is quoted in it.
        print(for_terminal(line.render()))
    return EXIT_OK if all(line.ok for line in lines) else EXIT_FAILED


def _cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.health import health_problems

    problems = health_problems(settings)
    print("healthy" if not problems else "unhealthy: " + "; ".join(problems))
    return EXIT_OK if not problems else EXIT_FAILED


def _cmd_parse(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.parsing import parse_message
    from helpdesk_ingest.parsing.report import parse_report

    status = EXIT_OK
    for path in args.files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            print(f"helpdesk-ingest: cannot read {path}: {exc.strerror}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        report = {"file": str(path), **parse_report(parse_message(raw))}
        # JSON escapes the C0 controls itself; for_terminal the rest (C1, text direction).
        text = json.dumps(report, ensure_ascii=False, indent=2 if args.pretty else None)
        print(for_terminal(text))
    return status


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.demo import run_demo

    return run_demo(args.directory)


def _cmd_quarantine(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.quarantine import run_command
    from helpdesk_ingest.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        return run_command(runtime, args)
    finally:
        runtime.close()


def _cmd_prune(settings: Settings, args: argparse.Namespace) -> int:
    from helpdesk_ingest.prune import run_command
    from helpdesk_ingest.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        return run_command(runtime, args)
    finally:
        runtime.close()


Command = Callable[[Settings, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpdesk-ingest",
        description="Turns a support mailbox into helpdesk tickets: POP3 over TLS, commit, DELE.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        help=f"TOML config file (default: ${CONFIG_ENV_VAR}, else built-in defaults)",
    )
    parser.add_argument("--log-format", choices=["auto", "json", "console"])
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    add("run", _cmd_run, "run the daemon: poll every mailbox on a schedule")
    poll = add("poll", _cmd_poll, "drain every mailbox once, then exit (1 if any failed)")
    poll.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")
    add("migrate", _cmd_migrate, "bring the database schema up to date")
    add("check", _cmd_check, "test the mailbox logins, the database and the spool; changes nothing")
    add("health", _cmd_health, "exit 0 when every mailbox had a recent successful poll")
    parse = add("parse", _cmd_parse, "print what the parser makes of message files, as JSON")
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parse.add_argument("--pretty", action="store_true", help="indent the JSON")
    quarantine = add(
        "quarantine", _cmd_quarantine, "list, show, export and retry quarantined messages"
    )
    add_quarantine_arguments(quarantine)
    prune = add("prune", _cmd_prune, "drop the raw bytes of ingested messages older than N days")
    add_prune_arguments(prune)
    demo = add("demo", _cmd_demo, "ingest bundled samples from a local test server into SQLite")
    demo.add_argument(
        "--directory",
        type=Path,
        default=Path("helpdesk-demo"),
        help="where the demo database goes (default: ./helpdesk-demo)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        settings = load_settings(args.config)
        overrides = {
            key: value
            for key, value in (("log_format", args.log_format), ("log_level", args.log_level))
            if value is not None
        }
        settings = settings.model_copy(update=overrides)
    except ConfigError as exc:
        print(f"helpdesk-ingest: configuration error: {exc}", file=sys.stderr)
        return EXIT_SETUP
    configure_logging(settings.log_format, settings.log_level)
    redactor.register(
        secret
        for secret in (
            *(mailbox.password_value() for mailbox in settings.mailboxes),
            _url_password(settings.database_url_value),
        )
        if secret
    )
    try:
        return handler(settings, args)
    except ConfigError as exc:
        print(f"helpdesk-ingest: configuration error: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except SchemaNotReady as exc:
        print(f"helpdesk-ingest: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except SQLAlchemyError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"helpdesk-ingest: database unavailable: {type(exc).__name__}: "
            f"{redactor.clean_text(first_line)}",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _url_password(url: str) -> str | None:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except ArgumentError:
        return None


if __name__ == "__main__":
    sys.exit(main())
