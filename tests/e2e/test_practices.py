"""`/ask` through the real process and the emulator, in French."""

from __future__ import annotations

from emulator import Chat, User

MARIE = User(id=2201, first_name="Marie", username="marie", language_code="fr")


async def test_ask_in_french_finds_the_challenge(bot_process, tg):
    await bot_process()
    private = Chat.private(MARIE)
    await tg.send_text(MARIE, private,
                       "/ask que faire si le gouverneur ignore l'accord signé à Kinshasa ?")
    answer = await tg.wait_for_reply(private)
    assert answer.text.startswith("1.1.c")
    assert "Les accords conclus au niveau national ne sont pas appliqués localement" in answer.text
    assert {"Autres réponses", "Parcourir"} <= set(answer.button_texts)
