"""bot/aiogram_lazy.py leaves aiogram's types to be built when first used; these tests fail
loudly when an aiogram or pydantic upgrade breaks that (see the module's docstring)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import bot  # installs the import hook
    from bot import aiogram_lazy

    import aiogram
    from aiogram import types

    assert aiogram_lazy.deferred_types() > 300, (
        "aiogram.types no longer rebuilds its types through model_rebuild(_types_namespace=...)"
        f": {aiogram_lazy.deferred_types()} deferred")
    assert not types.Message.__pydantic_complete__, "Message was built at import"
    assert not aiogram.methods.SendMessage.__pydantic_complete__, "methods built at import"

    update = types.Update.model_validate({
        "update_id": 1,
        "message": {
            "message_id": 1, "date": 0, "text": "hi",
            "chat": {"id": 1, "type": "private"},
            "from": {"id": 1, "is_bot": False, "first_name": "A"},
            "reply_to_message": {"message_id": 2, "date": 0, "chat": {"id": 1, "type": "group"}},
            "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]},
        },
    })
    assert isinstance(update.message.reply_to_message, types.Message)
    assert update.message.reply_markup.inline_keyboard[0][0].callback_data == "y"
    assert update.message.from_user.first_name == "A"

    from aiogram import methods
    from aiogram.methods.base import Response

    send = methods.SendMessage(chat_id=1, text="x", reply_markup=types.InlineKeyboardMarkup(
        inline_keyboard=[[types.InlineKeyboardButton(text="b", callback_data="c")]]))
    assert send.reply_markup.inline_keyboard[0][0].text == "b"
    answer = Response[types.Message].model_validate({"ok": True, "result": {
        "message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"},
        "pinned_message": {"message_id": 4, "date": 0, "chat": {"id": 1, "type": "private"}}}})
    assert answer.result.pinned_message.message_id == 4

    aiogram_lazy.warm_up()
    failed = []
    everything = [(name, getattr(types, name)) for name in types.__all__]
    everything += [(name, getattr(methods, name)) for name in methods.__all__]
    for name, entity in everything:  # every type and method still builds, references resolved
        if hasattr(entity, "model_rebuild"):
            try:
                entity.model_rebuild()
            except Exception as exc:  # noqa: BLE001
                failed.append(f"{name}: {exc}")
            if not entity.__pydantic_complete__:
                failed.append(f"{name}: not complete")
    assert not failed, failed
    print("ok")
""")


def test_types_are_built_lazily_and_all_still_build():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_install_after_aiogram_types_is_a_no_op():
    code = ("import aiogram.types, sys; from pydantic import BaseModel\n"
            "import bot.aiogram_lazy as lazy\n"
            "assert lazy.install() is False and aiogram.types.Message.__pydantic_complete__\n"
            "assert 'model_rebuild' in BaseModel.__dict__\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
