"""Doors on the feature routers: a command or a button is tried only by the routers that have it.

aiogram walks its routers one after the other and, in each, every handler's filters until one
matches: for /help it parsed the command again for each of the ~60 command handlers before the
one that matched, and every router it entered cost its middleware wrapping and root filters.

- `skip_foreign_routers` gives each feature router whose every message handler is a command,
  or whose every callback handler is a CallbackData filter, one check at its door: the update's
  command name (or callback prefix) is one of the router's. The check only lets through more
  than the handlers would take, never less: a router with a handler of any other kind, or a
  pattern, keeps no door.
- `DoorRouter`, the parent of the feature routers, checks those doors itself and does not enter
  a router whose door refuses the update (aiogram would enter it, wrap its middlewares and run
  its root filters, only to be turned away there). Its walk is aiogram's
  `Router._propagate_event` (3.31) with that one check added; tests/runtime/test_router_doors.py
  fails when aiogram's changes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Message, TelegramObject

Door = Callable[[Any], bool]


class DoorRouter(Router):
    """A router that does not enter a sub-router whose door refuses the update."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.doors: dict[int, dict[str, Door]] = {}  # id(sub-router) -> update type -> door

    async def _propagate_event(
        self,
        observer: TelegramEventObserver | None,
        update_type: str,
        event: TelegramObject,
        **kwargs: Any,
    ) -> Any:
        response = UNHANDLED
        if observer:
            result, data = await observer.check_root_filters(event, **kwargs)
            if not result:
                return UNHANDLED
            kwargs.update(data)

            response = await observer.trigger(event, **kwargs)
            if response is REJECTED:  # pragma: no cover - only if a handler returns REJECTED
                return UNHANDLED
            if response is not UNHANDLED:
                return response

        for router in self.sub_routers:
            door = self.doors.get(id(router), {}).get(update_type)
            if door is not None and not door(event):
                continue
            response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
            if response is not UNHANDLED:
                break

        return response


def skip_foreign_routers(router: Router) -> int:
    """Give each feature router under `router` its doors (see the module's docstring): as a
    root filter of its observer, and, when its parent is a `DoorRouter`, to the parent too.
    Returns how many observers got a door (before `inline_sync_filters`, which makes the root
    filters run inline)."""
    count = 0
    for each in router.chain_tail:
        if each.sub_routers:  # a failed door check would skip the sub-routers too
            continue
        doors: dict[str, Door] = {}
        commands = _all_commands(each.message.handlers)
        if commands is not None:
            prefixes, names = commands
            doors["message"] = partial(_command_among, prefixes, names)
        prefixes = _all_callback_prefixes(each.callback_query.handlers)
        if prefixes is not None:
            doors["callback_query"] = partial(_callback_among, prefixes)
        for update_type, door in doors.items():
            each.observers[update_type].filter(door)
            count += 1
        parent = each.parent_router
        if doors and isinstance(parent, DoorRouter):
            parent.doors[id(each)] = doors
    return count


def _all_commands(handlers) -> tuple[str, frozenset[str]] | None:
    prefixes, names = "", set()
    for handler in handlers:
        filters = [f.callback for f in handler.filters or () if isinstance(f.callback, Command)]
        if not filters:
            return None
        for command in filters:
            if not all(isinstance(name, str) for name in command.commands):
                return None
            prefixes += command.prefix
            names.update(name.casefold() for name in command.commands)
    return (prefixes, frozenset(names)) if handlers else None


def _command_among(prefixes: str, names: frozenset[str], message: Message) -> bool:
    words = (message.text or message.caption or "").split(maxsplit=1)
    if not words or words[0][0] not in prefixes:  # as Command.extract_command reads it
        return False
    return words[0][1:].partition("@")[0].casefold() in names


def _all_callback_prefixes(handlers) -> frozenset[tuple[str, str]] | None:
    prefixes = set()
    for handler in handlers:
        filters = [f.callback for f in handler.filters or ()
                   if isinstance(f.callback, CallbackQueryFilter)]
        if not filters:
            return None
        prefixes.update((f.callback_data.__prefix__, f.callback_data.__separator__)
                        for f in filters)
    return frozenset(prefixes) if handlers else None


def _callback_among(prefixes: frozenset[tuple[str, str]], query: CallbackQuery) -> bool:
    data = query.data or ""
    return any(data.partition(separator)[0] == prefix for prefix, separator in prefixes)
