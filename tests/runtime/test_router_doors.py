"""The door checks of the feature routers (bot.app.skip_foreign_routers): a command or a button
is tried only by the routers that handle it, and nothing a handler takes is turned away."""

from __future__ import annotations

import inspect

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter

from bot.app import build_dispatcher
from bot.delivery.scheduler import Ticker
from bot.i18n import get_i18n
from bot.local_api import LocalUser
from bot.router_doors import DoorRouter


def _doors(dispatcher):
    for router in dispatcher.chain_tail:
        if router.sub_routers:
            continue
        for observer in (router.message, router.callback_query):
            checks = [f for f in observer._handler.filters or ()
                      if getattr(f.callback, "func", None) is not None
                      and f.callback.func.__name__ in ("_command_among", "_callback_among")]
            if checks:
                yield router, observer, checks[0].callback


def test_every_command_and_button_of_a_router_passes_its_door(settings, database):
    from aiogram.types import CallbackQuery, Chat, Message, User

    dispatcher = build_dispatcher(settings, database, get_i18n(), Ticker(30))
    doors = list(_doors(dispatcher))
    assert len(doors) >= 15
    user = User(id=1, is_bot=False, first_name="A")
    chat = Chat(id=1, type="private")

    def message(text):
        return Message(message_id=1, date=0, chat=chat, from_user=user, text=text)

    for router, observer, door in doors:
        for handler in observer.handlers:
            for event_filter in handler.filters or ():
                check = event_filter.callback
                if isinstance(check, Command):
                    for name in check.commands:
                        for text in (f"/{name}", f"/{name.upper()}@SomeBot and more",
                                     f"  /{name}"):
                            assert door(message(text)), (router.name, text)
                elif isinstance(check, CallbackQueryFilter):
                    cls = check.callback_data
                    data = cls.__prefix__ + cls.__separator__ + "x"
                    query = CallbackQuery(id="1", from_user=user, chat_instance="c", data=data)
                    assert door(query), (router.name, data)
        if observer is router.message:
            assert not door(message("/no_such_command_here"))
            assert not door(message("plain words"))


async def test_a_command_is_parsed_only_by_the_routers_that_have_it(tg, monkeypatch):
    """Without the doors, /help was parsed by 57 command filters; the routers that also take
    plain text (answers to their prompts) keep no door and still parse it."""
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
    assert 0 < len(calls) <= 30, calls


async def test_a_command_enters_only_the_routers_whose_door_lets_it_in(tg, monkeypatch):
    """The feature routers' parent checks their doors itself: /help enters the routers that
    keep no door for messages (they take answers to their prompts) and the one that has /help,
    not the ~15 others."""
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
    assert len(with_doors) >= 10
    amani = LocalUser(id=1001, first_name="Amani", language_code="en")
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/help")
    assert "/report" in tg.last_text(chat)
    assert len(set(entered) & with_doors) == 1, entered


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
