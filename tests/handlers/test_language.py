"""The reader's language: offered at first private contact, the group's for members who never
chose, a group's language set with one tap at /setup."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.local_api import LocalUser
from storage.models import Person, WorkingGroup

FIRST_WORDS = {
    "sw": "Kuanzia sasa",
    "fr": "Désormais",
    "ln": "Banda sikoyo",
    "en": "From now on",
    "es": "A partir de ahora",
}
NAMES = {"sw": "Kiswahili", "fr": "Français", "ln": "Lingála", "en": "English", "es": "Español"}


async def _person(database, telegram_id) -> Person | None:
    async with database.session() as s:
        return (await s.exec(select(Person).where(Person.telegram_id == telegram_id))).first()


@pytest.mark.parametrize("code", ["sw", "fr", "ln", "en", "es"])
async def test_first_contact_offers_the_five_languages(tg, database, code):
    # Telegram's apps have no Swahili or Lingala: everyone arrives as English here.
    user = LocalUser(id=3000 + len(code) + ord(code[0]), first_name="Neema", username=None,
                     language_code="en")
    chat = tg.private_chat(user)
    await tg.send(user, chat, "/start")
    offer = tg.last_bot_message(chat)
    assert [b["text"] for b in offer.buttons()] == list(NAMES.values())
    for words in ("Chagua lugha yako", "Choisir votre langue", "Pona lokota na yo"):
        assert words in offer.text
    await tg.press(user, offer, NAMES[code])
    assert tg.last_text(chat).startswith(FIRST_WORDS[code])
    assert "/language" in tg.last_text(chat)
    assert (await _person(database, user.id)).language == code
    await tg.send(user, chat, "/start")  # chosen: not offered again
    assert tg.last_bot_message(chat).buttons() == []
    assert not tg.last_text(chat).startswith("Hello") or code == "en"


async def test_a_first_private_message_offers_the_languages_until_one_is_chosen(
    tg, database, amani
):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "what if soldiers beat a protester?")
    offer, answer = [m for m in tg.api.chat_messages(chat) if m.from_bot]
    assert len(offer.buttons()) == 5 and "Chagua lugha yako" in offer.text
    assert "Chagua lugha yako" not in answer.text  # the question still gets its answer
    assert await _person(database, amani.id) is None  # nothing stored for a mere message
    await tg.press(amani, offer, "English")  # choosing English is remembered as a choice
    assert (await _person(database, amani.id)).language == "en"
    before = len(tg.texts(chat))
    await tg.send(amani, chat, "what if soldiers beat a protester?")
    assert len(tg.texts(chat)) == before + 1
    assert "Chagua lugha yako" not in tg.last_text(chat)


async def test_a_forged_language_button_is_refused(tg, database, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/start")
    await tg.press_data(amani, tg.last_bot_message(chat), "lang:de:1")
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert answer["text"] == "This button is not valid any more."
    assert await _person(database, amani.id) is None


async def test_group_language_buttons_are_for_the_secretariat_only(
    tg, database, amani, bahati, registered_group
):
    await tg.send(bahati, registered_group, "/join")
    card = [m for m in tg.api.chat_messages(registered_group) if "Level" in str(m.buttons())][0]
    await tg.press(bahati, card, "Kiswahili")
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert answer["show_alert"] is True and "Only the secretariat" in answer["text"]
    await tg.press_data(amani, card, "gs:language:xx")
    assert tg.api.sent("answerCallbackQuery")[-1].params["text"] == (
        "This button is not valid any more.")
    async with database.session() as s:
        [group] = (await s.exec(select(WorkingGroup))).all()
    assert group.language == "en"


async def test_a_name_that_says_working_group_is_not_prefixed_twice(tg, group_chat):
    claire = LocalUser(id=1010, first_name="Claire", username="claire", language_code="fr")
    tg.group_chat(group_chat, "Sud-Kivu", creator=claire)
    tg.set_admin(group_chat, claire)
    await tg.send(claire, group_chat, "/setup Groupe de travail Sud-Kivu")
    text = tg.last_text(group_chat)
    assert "<b>Groupe de travail Sud-Kivu</b>" in text
    assert "Groupe de travail Groupe de travail" not in text


async def test_a_french_setup_gives_french_reminders_words_and_units(tg, database, group_chat):
    from datetime import UTC, datetime, timedelta

    from bot.delivery.sender import Sender
    from bot.delivery.worker import Delivery

    tg.dispatcher["ticker"].clock = lambda: datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    claire = LocalUser(id=1010, first_name="Claire", username="claire", language_code="fr")
    kalume = LocalUser(id=1012, first_name="Kalume", username="kalume", language_code="en")
    tg.group_chat(group_chat, "Sud-Kivu", creator=claire)
    tg.set_admin(group_chat, claire)
    await tg.send(claire, group_chat, "/setup Sud-Kivu")
    await tg.send(claire, group_chat, "/settings rappels 1 sem 1 j 1 h")
    assert "Rappels avant chaque réunion : 1 sem, 1 j, 1 h" in tg.last_text(group_chat)
    await tg.send(claire, group_chat, "/settings reminders 2d")  # English stays accepted
    assert "Rappels avant chaque réunion : 2 j" in tg.last_text(group_chat)
    await tg.send(claire, group_chat, "/settings rappels 3 semaines")
    assert "3 sem" in tg.last_text(group_chat)
    await tg.send(claire, group_chat, "/settings rappels 3x")
    assert "« 3x »" in tg.last_text(group_chat) and "3 j, 1 j, 2 h" in tg.last_text(group_chat)
    await tg.send(claire, group_chat, "/settings quorum 3 entreprise communauté")
    assert "piliers requis : Entreprise, Communauté" in tg.last_text(group_chat)
    await tg.send(claire, group_chat, "/settings quorum 3 armee_rouge")
    assert "entreprise, gouvernement" in tg.last_text(group_chat)
    await tg.send(claire, group_chat, "/settings rappels 1 j")
    await tg.send(claire, group_chat,
                  "/schedule 2026-12-03 10:00 | Réunion extraordinaire | Bukavu")
    card = tg.last_bot_message(group_chat)
    tg.private_chat(kalume)  # he opened the private chat once, without choosing a language
    # Kalume never chose a language and his app is English: the group's French, privately too.
    await tg.press(kalume, card, [b["text"] for b in card.buttons()][0])
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    sender = Sender(tg.bot, database, rate_limits=False)
    assert await Delivery(database, sender).run(start - timedelta(days=1)) == 2
    assert tg.last_text(group_chat).startswith(
        "⏰ Rappel : Réunion extraordinaire commence dans 1\xa0jour.")
    assert tg.last_text(kalume.id).startswith("⏰ Rappel : Réunion extraordinaire")


async def test_swahili_member_sees_swahili_units(tg, database, amani, registered_group):
    await tg.send(amani, registered_group, "/settings vikumbusho wiki 1 siku 1 saa 1")
    neema = LocalUser(id=1013, first_name="Neema", username="neema", language_code="en")
    chat = tg.private_chat(neema)
    await tg.send(neema, chat, "/language")
    await tg.press(neema, tg.last_bot_message(chat), "Kiswahili")
    await tg.send(neema, registered_group, "/settings")
    assert "wiki 1, siku 1, saa 1" in tg.last_text(registered_group)
    await tg.send(neema, registered_group, "/settings akidi 2 jamii")
    assert "sekretarieti" in tg.last_text(registered_group).lower()


@pytest.mark.usefixtures("fresh_report_keys")
async def test_the_report_language_list_and_language_list_have_one_order(tg, reporter):
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, "/language")
    chosen = [b["text"] for b in tg.last_bot_message(chat).buttons()]
    await tg.send(reporter, chat, "/report")
    report = [b["text"] for b in tg.last_bot_message(chat).buttons()]
    assert chosen == list(NAMES.values()) == report[:5]
