"""The local Bot API served from a process of its own (bot/local_api_process.py): what a bot
sends over HTTP is recorded there and read back through the control endpoints."""

from __future__ import annotations

from aiohttp import ClientSession

from bot.local_api import LOCAL_TOKEN
from bot.local_api_process import LocalBotAPIProcess

GROUP = -1_001_000_000_001


async def test_calls_limits_and_seeded_messages_are_read_back():
    api = LocalBotAPIProcess(limited=True)
    await api.start()
    try:
        await api.set_state(
            chats=[{"id": GROUP, "type": "supergroup", "title": "WG"}],
            messages=[{"chat_id": GROUP, "message_id": 41, "sender": {"id": 1, "is_bot": False,
                                                                       "first_name": "A"},
                       "text": "card", "reply_markup": None}])
        async with ClientSession() as http:
            base = f"{api.url}/bot{LOCAL_TOKEN}"
            async with http.post(f"{base}/editMessageText", json={
                    "chat_id": GROUP, "message_id": 41, "text": "card, edited"}) as response:
                assert (await response.json())["ok"]  # the seeded message exists
            answers = []
            for chat in (7, 7, GROUP):  # a second message in a second to one private chat: 429
                async with http.post(f"{base}/sendMessage",
                                     json={"chat_id": chat, "text": "hi"}) as response:
                    answers.append(response.status)
        assert answers == [200, 429, 200]
        sent = await api.calls("sendMessage")
        assert [int(c.params["chat_id"]) for c in sent] == [7, GROUP]  # a 429 is not delivered
        assert await api.count() == 3
        assert [c.params["text"] for c in await api.calls("editMessageText")] == ["card, edited"]
        limits = await api.limits()
        assert (limits.rejected, limits.rejected_global) == (1, 0)
        assert [chat for _, chat in limits.accepted] == [7, GROUP]
        messages = await api.messages(GROUP)
        # New messages come after the seeded ones.
        assert [(m["message_id"], m["text"]) for m in messages] == [(41, "card, edited"),
                                                                      (42, "hi")]
        assert await api.first_poll() is None
    finally:
        assert await api.stop() == 0
