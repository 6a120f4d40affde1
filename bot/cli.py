"""The `wgbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging
from storage.database import DatabaseUnavailable

# Commands that need neither the practice catalogue's tools nor the search library they import
# (half a second at start): their parser leaves the practice commands out.
LEAN_COMMANDS = ("run", "console", "migrate", "report-key")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_polling, run_webhook

    asyncio.run(run_webhook(settings) if getattr(args, "webhook", False) else run_polling(settings))
    return 0


def _console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import run_console

    asyncio.run(run_console(settings))
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from storage.database import Database
    from storage.migrate import current, upgrade

    async def go() -> str | None:
        database = Database(settings.effective_database_url)
        try:
            await database.check()
            await upgrade(database)
            return await current(database)
        finally:
            await database.dispose()

    print(f"database at revision {asyncio.run(go())}")
    return 0


def _report_key(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.report_crypto import new_key

    print(new_key())
    return 0


def _auto(args: argparse.Namespace, settings: Settings) -> int:
    """No subcommand: run against Telegram when a token is configured, else the local console."""
    return _run(args, settings) if settings.telegram_bot_token else _console(args, settings)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The `wgbot` parser; for `argv` starting with one of LEAN_COMMANDS, without the practice
    commands."""
    parser = argparse.ArgumentParser(
        prog="wgbot",
        description="Telegram bot for security and human rights working groups. Without a "
                    "command: `run` when TELEGRAM_BOT_TOKEN is set, else `console`.",
    )
    parser.set_defaults(func=_auto)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="connect to Telegram (long polling, or --webhook)")
    run.add_argument(
        "--webhook", action="store_true",
        help="serve Telegram's webhook, /healthz and /metrics over HTTP (WGBOT_WEBHOOK_URL, "
             "WGBOT_WEBHOOK_SECRET, WGBOT_HTTP_PORT); several replicas may share PostgreSQL "
             "and Redis")
    run.set_defaults(func=_run)
    sub.add_parser("console", help="chat with the bot locally, without Telegram").set_defaults(
        func=_console)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser(
        "report-key", help="print a new report encryption key (for WGBOT_REPORT_KEY)"
    ).set_defaults(func=_report_key)
    if not (argv and argv[0] in LEAN_COMMANDS):
        from bot.practices.cli import register as register_practice_commands

        register_practice_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return args.func(args, settings)
    except (ConfigError, DatabaseUnavailable) as exc:
        print(f"wgbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
