"""The index of the handlers and the doors of the feature routers (bot.router_doors): a command,
a button or a message in a conversation is tried only by the handlers that could take it, and
nothing a handler takes is turned away."""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap

from aiogram import Bot
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.app import build_dispatcher
from bot.delivery.scheduler import Ticker
from bot.i18n import get_i18n
from bot.local_api import BOT_USER, LOCAL_TOKEN, LocalBotAPI, LocalUser
from bot.router_doors import DoorRouter, HandlerIndex, _states_of


def _indexed(dispatcher):
    for router in dispatcher.chain_tail:
        for name in ("message", "callback_query"):
            observer = router.observers[name]
            trigger = observer.trigger
            index = getattr(trigger, "args", (None, None))[1]
            if isinstance(index, HandlerIndex):
                yield router, name, observer, index


def _corpus(dispatcher):
    """Messages and button presses in every form the filters read, and every state named."""
    names, buttons, states = {"help", "start", "nothing_here"}, set(), {None, "Elsewhere:step"}
    for _router, _name, observer, _index in _indexed(dispatcher):
        for handler in observer.handlers:
            for event_filter in handler.filters or ():
                check = event_filter.callback
                if isinstance(check, Command):
                    names.update(n for n in check.commands if isinstance(n, str))
                elif isinstance(check, CallbackQueryFilter):
                    buttons.add(check.callback_data)
                elif isinstance(check, State | StateFilter):
                    states.update(_states_of(check.states if isinstance(check, StateFilter)
                                             else (check,)) or ())
    user = User(id=1, is_bot=False, first_name="A")
    chat = Chat(id=1, type="private")
    texts = ["plain words", "", "/", "  /help", "/start report", "/start status"]
    for name in sorted(names):
        texts += [f"/{name}", f"/{name.upper()} and more", f"/{name}@{BOT_USER['username']}",
                  f"/{name}@SomeOtherBot", f"!{name}"]
    messages = [Message(message_id=1, date=0, chat=chat, from_user=user, text=text)
                for text in texts]
    messages.append(Message(message_id=1, date=0, chat=chat, from_user=user, caption="/help"))
    data = ["", "x", "rp", "rp:"]
    for cls in sorted(buttons, key=lambda c: c.__prefix__):
        prefix, separator = cls.__prefix__, cls.__separator__
        data += [prefix, prefix + separator, prefix + separator + "x",
                 prefix + separator + separator.join(["1"] * len(cls.model_fields)),
                 prefix + "x" + separator + "1"]
    queries = [CallbackQuery(id="1", from_user=user, chat_instance="c", data=d) for d in data]
    return {"message": messages, "callback_query": queries}, sorted(states, key=str)


async def test_the_index_keeps_every_handler_whose_filters_would_take_the_update(
        settings, database):
    """For every indexed handler, every update of the corpus in every state: a handler the index
    leaves out has a command, button or state filter that refuses the update."""
    dispatcher = build_dispatcher(settings, database, get_i18n(), Ticker(30))
    indexed = list(_indexed(dispatcher))
    assert len(indexed) >= 25
    events, states = _corpus(dispatcher)
    bot = Bot(LOCAL_TOKEN, session=LocalBotAPI())
    taken: dict[tuple[int, int], bool] = {}  # a command or button filter reads the update only,
    # a state filter the state only

    async def takes(event_filter, event, state) -> bool:
        reads_state = isinstance(event_filter.callback, State | StateFilter)
        key = (id(event_filter), id(state) if reads_state else id(event))
        if key not in taken:
            taken[key] = bool(await event_filter.call(event, raw_state=state, bot=bot))
        return taken[key]

    left_out = 0
    for (router, name, observer, index), state in itertools.product(indexed, states):
        for event in events[name]:
            kept = index.candidates(event, state)
            assert list(kept) == [h for h in observer.handlers if h in kept]  # aiogram's order
            for handler in observer.handlers:
                if handler in kept:
                    continue
                left_out += 1
                refused = False
                for event_filter in handler.filters or ():
                    if isinstance(event_filter.callback, Command | CallbackQueryFilter | State
                                  | StateFilter):
                        refused = refused or not await takes(event_filter, event, state)
                assert refused, (router.name, handler.callback.__name__, event, state)
    assert left_out > 10_000


async def test_a_command_is_parsed_only_by_the_handlers_that_have_it(tg, monkeypatch):
    """Without the index, /help was parsed by 57 command filters."""
    calls = []
    original = Command.__call__

    async def counting(self, *args, **kwargs):
        calls.append(self.commands)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(Command, "__call__", counting)
    amani = LocalUser(id=1001, first_name="Amani", language_code="en")
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/help")
    assert "/report" in tg.last_text(chat)
    assert calls == [("start", "help")], calls


async def test_a_command_enters_only_the_routers_whose_door_lets_it_in(tg, monkeypatch):
    """The feature routers' parent checks their doors itself: /help enters the router that has
    it and the two that take any text in a private chat with no conversation under way (their
    other filters refuse a command), not the ~20 others (no conversation is under way, so those
    that take answers to their prompts stay closed too)."""
    from aiogram import Router

    entered = []
    original = Router.propagate_event

    async def counting(self, update_type, event, **kwargs):
        if update_type == "message":
            entered.append(self.name)
        return await original(self, update_type, event, **kwargs)

    monkeypatch.setattr(Router, "propagate_event", counting)
    root = next(r for r in tg.dispatcher.chain_tail if isinstance(r, DoorRouter))
    with_doors = {r.name for r in root.sub_routers if "message" in root.doors.get(id(r), {})}
    assert len(with_doors) >= 18
    amani = LocalUser(id=1001, first_name="Amani", language_code="en")
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/help")
    assert "/report" in tg.last_text(chat)
    assert set(entered) & with_doors == {"language", "practices", "start"}, entered


def _statements(function, drop=()) -> list[str]:
    lines = (line.split("#")[0].strip() for line in inspect.getsource(function).splitlines())
    return [line for line in lines if line and not any(word in line for word in drop)]


def test_the_door_walk_is_aiograms_walk_with_the_door_check_only():
    """DoorRouter._propagate_event copies aiogram's Router._propagate_event (3.31) and adds the
    door check: an aiogram release that changes its walk must be looked at before it is used."""
    from aiogram import Router

    theirs = _statements(Router._propagate_event)
    ours = _statements(DoorRouter._propagate_event, drop=("door", "continue"))
    assert ours == theirs


def _body(function, *, self_name: str) -> list[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    found = []
    for statement in body:
        if isinstance(statement, ast.For):  # the loop's own line differs: which handlers
            statement.iter = ast.Name("HANDLERS")
        found.append(ast.unparse(statement).replace(f"{self_name}.", "observer."))
    return found


def test_the_indexed_trigger_is_aiograms_trigger_over_the_indexed_handlers():
    """indexed_trigger copies aiogram's TelegramEventObserver.trigger (3.31), walking the
    handlers the index keeps instead of all of them."""
    from bot.router_doors import indexed_trigger

    theirs = _body(TelegramEventObserver.trigger, self_name="self")
    ours = [s for s in _body(indexed_trigger, self_name="observer")
            if not s.startswith("if index.count")]
    assert ours == theirs


async def test_the_closed_doors_are_those_whose_router_has_no_handler(settings, database):
    """The doors closed for an update, worked out once per reading of it, are those of the
    routers that have no handler for it."""
    dispatcher = build_dispatcher(settings, database, get_i18n(), Ticker(30))
    root = next(r for r in dispatcher.chain_tail if isinstance(r, DoorRouter))
    events, states = _corpus(dispatcher)
    for name, state in itertools.product(("message", "callback_query"), states):
        for event in events[name]:
            data = {"raw_state": state}
            expected = {id(r) for r in root.sub_routers
                        if name in root.doors.get(id(r), {})
                        and not r.observers[name].trigger.args[1].candidates(event, state)}
            assert root.closed_doors(name, event, data) == expected, (event, state)
            assert root.closed_doors(name, event, data) == expected  # as kept
