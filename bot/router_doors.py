"""Doors on the feature routers, and an index of their handlers: a command, a button or a message
in a conversation is tried only by the handlers that could take it.

aiogram walks its routers one after the other and, in each, every handler's filters until one
matches: for /help it parsed the command again for each of the ~60 command handlers before the
one that matched, and every router it entered cost its middleware wrapping and root filters.

- `HandlerIndex` reads, for each handler of a router's message or callback query observer, what
  its filters require of the update: a command (a `Command` filter with names only: one of these
  names, after one of its prefixes), a button (a `CallbackQueryFilter`: its prefix), a
  conversation state (a `State`, or a `StateFilter` of states and state groups, `"*"` aside).
  For an update it gives the handlers whose requirements the update meets, in their order; the
  other handlers' filters would refuse it. It only ever keeps more handlers than would take the
  update, never fewer: a filter of any other kind, a command pattern or `"*"` requires nothing.
- `index_handlers` makes each indexed observer walk only those handlers (`indexed_trigger`, which
  is aiogram's `TelegramEventObserver.trigger` (3.31) over the index's handlers instead of all).
- `DoorRouter`, the parent of the feature routers, checks their doors itself: it does not enter a
  router (no sub-routers, no outer middleware on that observer) that has no handler for the
  update (aiogram would enter it, wrap its middlewares and run its root filters, only to find
  no handler there). Which doors are closed depends only on what the doors' indexes read of the
  update, so it is worked out once for each such reading. Its walk is aiogram's
  `Router._propagate_event` (3.31) with that one check added.
- Everything is indexed once the handlers are registered (`bot.app.build_dispatcher`).

tests/runtime/test_router_doors.py fails when aiogram's walk or trigger changes, and checks on
every handler that the index keeps whatever its filters take.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from inspect import isclass
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import TelegramObject

INDEXED = ("message", "callback_query")
_OTHER = object()  # a state, command or prefix that no handler of the observer names


@dataclass(frozen=True)
class _Needs:
    """What one handler's filters require of an update (None: nothing of that kind)."""

    prefixes: str | None = None  # command prefixes, with...
    names: frozenset[str] | None = None  # ...the command's names (casefolded)
    button: tuple[str, str] | None = None  # callback data prefix and separator
    states: frozenset[str | None] | None = None

    def met(self, command: Any, buttons: dict[str, Any], state: Any) -> bool:
        if self.names is not None:
            if command is _OTHER or command[0] not in self.prefixes or command[1] not in self.names:
                return False
        if self.button is not None and buttons.get(self.button[1]) != self.button[0]:
            return False
        return self.states is None or state in self.states


def _needs(handler: HandlerObject) -> _Needs:
    prefixes = names = button = states = None
    for event_filter in handler.filters or ():
        check = event_filter.callback
        if isinstance(check, Command) and names is None:
            if all(isinstance(name, str) for name in check.commands):
                prefixes = check.prefix
                names = frozenset(name.casefold() for name in check.commands)
        elif isinstance(check, CallbackQueryFilter) and button is None:
            button = (check.callback_data.__prefix__, check.callback_data.__separator__)
        elif isinstance(check, State | StateFilter) and states is None:
            states = _states_of(check.states if isinstance(check, StateFilter) else (check,))
    return _Needs(prefixes, names, button, states)


def _states_of(allowed) -> frozenset[str | None] | None:
    """The raw states a `StateFilter` (or a `State` used as a filter) lets through; None when
    it lets any through."""
    found: set[str | None] = set()
    for state in allowed:
        if isinstance(state, State):
            state = state.state
        if state is None or isinstance(state, str):
            if state == "*":
                return None
            found.add(state)
        elif isinstance(state, StatesGroup):
            found.update(type(state).__all_states_names__)
        elif isclass(state) and issubclass(state, StatesGroup):
            found.update(state.__all_states_names__)
        else:
            return None
    return frozenset(found)


class HandlerIndex:
    """The handlers of one observer that could take an update, in their order."""

    def __init__(self, handlers: list[HandlerObject]) -> None:
        self.handlers = handlers
        self.count = len(handlers)
        self.needs = [_needs(handler) for handler in handlers]
        self.prefixes = "".join(n.prefixes for n in self.needs if n.names is not None)
        self.names = frozenset().union(*(n.names for n in self.needs if n.names is not None))
        self.buttons: dict[str, frozenset[str]] = {}
        for need in self.needs:
            if need.button is not None:
                prefix, separator = need.button
                self.buttons[separator] = self.buttons.get(separator, frozenset()) | {prefix}
        self.states = frozenset().union(*(n.states for n in self.needs if n.states is not None))
        self._found: dict[tuple, tuple[HandlerObject, ...]] = {}

    @property
    def useful(self) -> bool:
        """Whether any handler requires something (otherwise every handler is always tried)."""
        return any(n != _Needs() for n in self.needs)

    def key(self, event: TelegramObject, raw_state: str | None) -> tuple:
        """What the handlers' requirements read of the update: its command, its button's prefix
        and its state, each only as far as some handler names it (otherwise `_OTHER`)."""
        command: Any = _OTHER
        if self.names:  # as Command.extract_command reads it
            words = (getattr(event, "text", None) or getattr(event, "caption", None) or ""
                     ).split(maxsplit=1)
            if words and words[0][0] in self.prefixes:
                name = words[0][1:].partition("@")[0].casefold()
                if name in self.names:
                    command = (words[0][0], name)
        buttons: dict[str, Any] = {}
        if self.buttons:  # as CallbackData.unpack reads it
            data = getattr(event, "data", None) or ""
            for separator, prefixes in self.buttons.items():
                prefix = data.partition(separator)[0]
                buttons[separator] = prefix if prefix in prefixes else _OTHER
        state = raw_state if raw_state in self.states else _OTHER
        return (command, buttons, state)

    def candidates(self, event: TelegramObject, raw_state: str | None
                   ) -> tuple[HandlerObject, ...]:
        command, buttons, state = self.key(event, raw_state)
        key = (command, *buttons.values(), state)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = tuple(
                handler for handler, need in zip(self.handlers, self.needs, strict=True)
                if need.met(command, buttons, state))
        return found


async def indexed_trigger(observer: TelegramEventObserver, index: HandlerIndex,
                          event: TelegramObject, **kwargs: Any) -> Any:
    """aiogram's `TelegramEventObserver.trigger`, over the handlers the index keeps."""
    if index.count != len(observer.handlers):  # a handler registered after indexing
        index.__init__(observer.handlers)
    for handler in index.candidates(event, kwargs.get("raw_state")):
        kwargs["handler"] = handler
        result, data = await handler.check(event, **kwargs)
        if result:
            kwargs.update(data)
            try:
                wrapped_inner = observer.outer_middleware.wrap_middlewares(
                    observer._resolve_middlewares(),
                    handler.call,
                )
                return await wrapped_inner(event, kwargs)
            except SkipHandler:
                continue

    return UNHANDLED


@dataclass(frozen=True)
class Door:
    """A router's door for one update type: open when the router has a handler for it."""

    index: HandlerIndex

    def opens(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        return bool(self.index.candidates(event, data.get("raw_state")))


class DoorRouter(Router):
    """A router that does not enter a sub-router whose door refuses the update."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.doors: dict[int, dict[str, Door]] = {}  # id(sub-router) -> update type -> door
        # Per update type, the index of all the handlers behind doors: what it reads of an
        # update decides which doors open, so the closed ones are worked out once per reading.
        self.doorways: dict[str, HandlerIndex] = {}
        self._closed: dict[tuple, frozenset[int]] = {}

    def closed_doors(self, update_type: str, event: TelegramObject, data: dict[str, Any]
                     ) -> frozenset[int]:
        """The ids of the sub-routers whose door refuses the update."""
        doorway = self.doorways.get(update_type)
        if doorway is None:
            return frozenset()
        command, buttons, state = doorway.key(event, data.get("raw_state"))
        key = (update_type, command, *buttons.values(), state)
        closed = self._closed.get(key)
        if closed is None:
            closed = self._closed[key] = frozenset(
                router for router, doors in self.doors.items()
                if update_type in doors and not doors[update_type].opens(event, data))
        return closed

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

        closed_doors = self.closed_doors(update_type, event, kwargs)
        for router in self.sub_routers:
            if id(router) in closed_doors:
                continue
            response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
            if response is not UNHANDLED:
                break

        return response


def index_handlers(router: Router) -> int:
    """Index the message and callback query handlers of every router under `router` (see the
    module's docstring), and give the feature routers under a `DoorRouter` their doors.
    Returns how many observers were indexed."""
    count = 0
    for each in router.chain_tail:
        for update_type in INDEXED:
            observer = each.observers[update_type]
            index = HandlerIndex(observer.handlers)
            if not index.useful:
                continue
            observer.trigger = partial(indexed_trigger, observer, index)
            count += 1
            parent = each.parent_router
            if isinstance(parent, DoorRouter) and not each.sub_routers \
                    and not observer.outer_middleware:
                parent.doors.setdefault(id(each), {})[update_type] = Door(index)
                behind = parent.doorways.get(update_type)
                parent.doorways[update_type] = HandlerIndex(
                    [*(behind.handlers if behind else ()), *observer.handlers])
    return count
