"""A concern report in Swahili through the real process and the emulator: buttons, receipt,
/status with the receipt, and a secretariat reply the reporter then reads."""

from __future__ import annotations

import asyncio
import re

from emulator import BotMessage, Chat, EmulatorClient, User

from bot.i18n import translate

AMANI = User(id=2301, first_name="Amani", username="amani", language_code="en")
JUMA = User(id=2302, first_name="Juma", language_code="sw")
GROUP = Chat.supergroup(-1002301, "Uvira working group")
STEP_TIMEOUT = 10.0


async def _snapshot(tg: EmulatorClient, chat: Chat) -> list[tuple[int, object]]:
    return [(m.message_id, m.raw) for m in await tg.bot_messages(chat)]


async def _after(tg: EmulatorClient, chat: Chat, before: list) -> BotMessage:
    """Wait until the bot has answered the last action (a new or edited message) and is quiet,
    then return its latest message with buttons, or its latest message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT
    current = await _snapshot(tg, chat)
    while current == before:
        assert loop.time() < deadline, "the bot did not answer"
        await asyncio.sleep(0.1)
        current = await _snapshot(tg, chat)
    while True:  # the bot may send several messages for one action
        await asyncio.sleep(0.4)
        settled = await _snapshot(tg, chat)
        if settled == current:
            break
        current = settled
    messages = await tg.bot_messages(chat)
    with_buttons = [m for m in messages if m.inline_keyboard]
    return with_buttons[-1] if with_buttons else messages[-1]


async def _press(tg, user, chat, message: BotMessage, position: int) -> BotMessage:
    buttons = [b for row in message.inline_keyboard for b in row]
    before = await _snapshot(tg, chat)
    await tg.press(user, chat, message, buttons[position - 1]["callback_data"])
    return await _after(tg, chat, before)


async def _say(tg, user, chat, text: str) -> BotMessage:
    before = await _snapshot(tg, chat)
    await tg.send_text(user, chat, text)
    return await _after(tg, chat, before)


async def test_swahili_report_receipt_status_and_reply(bot_process, shim, tg):
    await bot_process()
    shim.set_admins(GROUP.id, [AMANI.id])
    await _say(tg, AMANI, GROUP, "/setup Uvira | Africa/Lubumbashi")
    link = await _say(tg, JUMA, GROUP, "/report")
    url = link.inline_keyboard[0][0]["url"]
    payload = re.search(r"start=(report_\w+)", url).group(1)

    private = Chat.private(JUMA)
    menu = await _say(tg, JUMA, private, f"/start {payload}")
    assert [b["text"] for b in menu.inline_keyboard[0]][0] == "Kiswahili"
    notice = await _press(tg, JUMA, private, menu, 1)
    categories = await _press(tg, JUMA, private, notice, 1)
    danger = await _press(tg, JUMA, private, categories, 1)
    await _press(tg, JUMA, private, danger, 2)  # nobody in danger now
    await _say(tg, JUMA, private, "Karibu na lango la mgodi")
    await _say(tg, JUMA, private, "Jumanne iliyopita")
    done = await _say(tg, JUMA, private, "Walinzi walimpiga kijana")
    summary = await _press(tg, JUMA, private, done, 1)
    await _press(tg, JUMA, private, summary, 1)
    receipt_message = next(
        m for m in await tg.bot_messages(private)
        if translate("Your receipt code (shown only this once):", "sw") in (m.text or ""))
    receipt = "".join(re.search(r"<code>([\d ]+)</code>", receipt_message.html).group(1).split())
    assert len(receipt) == 16

    secretariat = Chat.private(AMANI)
    case = await _say(tg, AMANI, secretariat, "/case 1")
    texts = "\n".join(m.text or "" for m in await tg.bot_messages(secretariat))
    assert "Walinzi walimpiga kijana" in texts
    before = await _snapshot(tg, secretariat)
    await tg.press(AMANI, secretariat, case, "Reply to the reporter")
    await _after(tg, secretariat, before)  # the prompt for the reply
    preview = await _say(tg, AMANI, secretariat, "Tumepokea. Uko salama?")
    before = await _snapshot(tg, secretariat)
    await tg.press(AMANI, secretariat, preview, "Send")  # nothing goes before Send
    await _after(tg, secretariat, before)

    card = await _say(tg, JUMA, private, f"/status {receipt}")
    status_texts = "\n".join(m.text or "" for m in await tg.bot_messages(private))
    assert "Tumepokea. Uko salama?" in status_texts, card.text
