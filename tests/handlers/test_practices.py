"""Dispatcher-level tests of /ask, free-text questions and /practices browsing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.formatting import TELEGRAM_TEXT_LIMIT
from bot.i18n import translate
from bot.local_api import LocalUser
from bot.practices.answers import CAVEAT, FIRST_CARD_MAX, QUESTION_MAX
from bot.practices.catalogue import default_catalogue

POLICE_QUESTION = "what should we do if the mining police arrest protesters?"
GOVERNOR_QUESTION = "que faire si le gouverneur ignore l'accord signé à Kinshasa ?"
INVALID = "This button is not valid any more."


def _labels(message) -> list[str]:
    return [button["text"] for button in message.buttons()]


def _alert(tg) -> dict:
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    return answer


def _title(entry_id: str, lang: str = "en") -> str:
    return default_catalogue()[entry_id].title[lang]


def _heading(entry_id: str, index: int, lang: str = "en") -> str:
    return default_catalogue()[entry_id].practices[index].heading[lang]


def _user(user_id: int, name: str, lang: str) -> LocalUser:
    return LocalUser(id=user_id, first_name=name, username=name.lower(), language_code=lang)


async def test_ask_in_english_answers_with_the_challenge_and_its_practices(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    assert card.text.startswith(f"<b>2.8.d</b> · <b>{_title('2.8.d')}</b>")
    assert len(card.text) <= FIRST_CARD_MAX  # a phone screen
    assert "The practices that best match your question:" in card.text
    assert sum(line.startswith("• ") for line in card.text.splitlines()) == 3
    assert "(VPs: 5; MIGA: III-18-19)" in card.text  # every point with its sources
    assert "<i>Sources: " in card.text  # one line
    assert card.text.endswith(f"<i>{CAVEAT}</i>")
    assert "not translated" not in card.text
    assert _labels(card) == ["More practices", "Other matches", "Browse"]


async def test_ask_in_french_answers_in_french(tg):
    marie = _user(2001, "Marie", "fr")
    chat = tg.private_chat(marie)
    await tg.send(marie, chat, f"/ask {GOVERNOR_QUESTION}")
    card = tg.last_bot_message(chat)
    assert card.text.startswith(f"<b>1.1.c</b> · <b>{_title('1.1.c', 'fr')}</b>")
    assert "Les pratiques qui répondent le mieux à votre question :" in card.text
    assert len(card.text) <= FIRST_CARD_MAX
    assert card.text.endswith(f"<i>{translate(CAVEAT, 'fr')}</i>")
    assert translate(CAVEAT, "fr") != CAVEAT
    assert "English" not in card.text and "anglais" not in card.text
    assert _labels(card) == ["Plus de pratiques", "Autres réponses", "Parcourir"]


async def test_free_text_in_private_is_a_question(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, POLICE_QUESTION)
    assert tg.last_text(chat).startswith("<b>2.8.d</b>")


async def test_text_in_another_flow_is_not_a_question(tg, database, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/profile")
    await tg.press(amani, tg.last_bot_message(chat), "Organisation")
    await tg.send(amani, chat, "Mining police arrest protesters")
    texts = tg.texts(chat)
    assert "Saved." in texts
    assert not any("2.8.d" in text for text in texts)
    await tg.send(amani, chat, POLICE_QUESTION)  # the flow is over: questions again
    assert tg.last_text(chat).startswith("<b>2.8.d</b>")


async def test_ask_in_a_group_answers_in_the_group(tg, amani, bahati, group_chat):
    await tg.send(bahati, group_chat, f"/ask {POLICE_QUESTION}")
    assert tg.last_text(group_chat).startswith("<b>2.8.d</b>")
    assert tg.api.sent("sendMessage")[-1].params["chat_id"] == group_chat
    await tg.send(bahati, group_chat, "/ask@wgbot_local_bot the governor ignores the agreement "
                                      "signed with the ministry")
    assert tg.last_text(group_chat).startswith("<b>1.1.c</b>")


async def test_ask_in_reply_to_a_message_asks_that_message(tg, amani, bahati, group_chat):
    question = await tg.send(bahati, group_chat, POLICE_QUESTION)
    assert tg.last_bot_message(group_chat) is None  # plain group talk is not for the bot
    await tg.send(amani, group_chat, "/ask", reply_to=question)
    card = tg.last_bot_message(group_chat)
    assert card.text.startswith("<b>2.8.d</b>")
    await tg.send(amani, group_chat, "/ask", reply_to=card)  # the bot's own words are no question
    assert tg.last_text(group_chat).startswith("Write your question after the command.")


async def test_ask_without_a_question_gives_an_example(tg, amani, group_chat):
    await tg.send(amani, group_chat, "/ask")
    assert tg.last_text(group_chat) == (
        "Write your question after the command. For example:\n"
        "/ask what should we do if the police arrest protesters?")
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/ask   ")
    assert tg.last_text(chat).startswith("Ask me what good practice says about a situation")
    marie = _user(2001, "Marie", "fr")
    await tg.send(marie, tg.private_chat(marie), "/ask")
    assert "/ask que faire si la police arrête des manifestants ?" in tg.last_text(marie.id)


async def test_too_long_question_is_refused(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "police " * (QUESTION_MAX // 6))
    assert tg.last_text(chat) == (
        f"That question is too long: at most {QUESTION_MAX} characters, please.")


async def test_no_match_suggests_browsing(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/ask hello")
    assert tg.last_text(chat) == (
        "Nothing in the good-practice catalogue answers that question. You can browse the "
        "catalogue with /practices, or ask your working group's secretariat.")
    assert _labels(tg.last_bot_message(chat)) == ["Browse"]
    await tg.press(amani, tg.last_bot_message(chat), "Browse")
    assert tg.last_text(chat).startswith("The good-practice catalogue of the Security")
    await tg.send(amani, chat, "hello")  # free text may not be a question at all
    assert tg.last_text(chat) == (
        "I did not understand that. If it was a question, nothing in the good-practice "
        "catalogue answers it: you can browse the catalogue with /practices, or ask your "
        "working group's secretariat. Send /help to see what else I can do.")
    marie = _user(2001, "Marie", "fr")
    await tg.send(marie, tg.private_chat(marie), "/ask bonjour")
    assert "/practices" in tg.last_text(marie.id) and "catalogue" in tg.last_text(marie.id)
    assert tg.last_text(marie.id).startswith("Rien dans le catalogue")


async def test_questions_outside_the_catalogue_are_declined(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/ask which environmental permit do we need for the tailings dam?")
    assert tg.last_text(chat).startswith("Nothing in the good-practice catalogue answers")


async def test_a_declined_question_about_an_entry_without_practices_is_pointed_to_it(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/ask artisanal miners dig for gold on our concession every night")
    assert tg.last_text(chat) == (
        "Nothing written in the good-practice catalogue answers that question yet. The toolkit "
        f"covers it under “{_title('asm')}”, whose good practices are not yet written here: you "
        "can read what it is about, browse the catalogue with /practices, or ask your working "
        "group's secretariat.")
    assert _labels(tg.last_bot_message(chat)) == ["Read what it is about", "Browse"]
    await tg.press(amani, tg.last_bot_message(chat), "Read what it is about")
    card = tg.last_text(chat)
    assert _title("asm") in card
    assert "The good practices for this challenge are not yet written in this catalogue." in card
    marie = _user(2003, "Marie", "fr")
    await tg.send(marie, tg.private_chat(marie),
                  "des orpailleurs creusent chaque nuit dans notre concession, que faire")
    assert tg.last_text(marie.id).startswith(
        "Rien de ce qui est rédigé dans le catalogue des bonnes pratiques ne répond encore")
    assert f"« {_title('asm', 'fr')} »" in tg.last_text(marie.id)
    assert _labels(tg.last_bot_message(marie.id)) == ["Lire de quoi il s'agit", "Parcourir"]


@pytest.mark.parametrize(("lang", "language", "shown"), [("sw", "Kiswahili", "English"),
                                                         ("ln", "Lingála", "Français")])
async def test_the_fallback_language_is_announced_where_a_translation_is_missing(
        tg, lang, language, shown, settings, tmp_path):
    data = default_catalogue()["2.8.d"].model_dump(exclude_none=True)
    for group in data["practices"]:
        for point in group["points"]:
            point["text"] = {code: point["text"][code] for code in ("en", "fr")}
    operator = tmp_path / "operator"
    operator.mkdir()
    (operator / "2.8.d.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                         encoding="utf-8")
    settings.catalogue_dirs_value = str(operator)
    user = _user(2002, "Neema", lang)
    chat = tg.private_chat(user)
    # chosen, not only the app's: an English question would otherwise be answered in English
    await tg.send(user, chat, "/language")
    await tg.press(user, tg.last_bot_message(chat), language)
    await tg.send(user, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    assert card.text.startswith(f"<b>2.8.d</b> · <b>{_title('2.8.d', lang)}</b>")
    if shown == "English":
        note = translate("Parts of this entry are not translated into {language} yet; they are "
                         "shown in English.", lang, language=language)
    else:
        note = translate("Parts of this entry are not translated into {language} yet; they are "
                         "shown in {shown}.", lang, language=language, shown=shown)
    assert f"<i>{note}</i>" in card.text and language in note
    code = "en" if shown == "English" else "fr"
    points = [p.text[code][:40] for g in default_catalogue()["2.8.d"].practices for p in g.points]
    assert sum(point in card.text for point in points) == 3
    assert card.text.endswith(f"<i>{translate(CAVEAT, lang)}</i>")


async def test_more_practices_pages_through_the_challenge(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    entry = default_catalogue()["2.8.d"]
    seen = [h for h in (g.heading["en"] for g in entry.practices) if f"<b>{h}</b>" in card.text]
    pages = 0
    while "More practices" in _labels(card):
        await tg.press(amani, card, "More practices")
        edited = tg.last_bot_message(chat)
        assert edited.message_id == card.message_id  # the card is edited, not repeated
        assert edited.text.endswith(f"<i>{CAVEAT}</i>")
        assert "Good practices " in edited.text and " of 13:" in edited.text
        seen += [g.heading["en"] for g in entry.practices
                 if f"<b>{g.heading['en']}</b>" in edited.text]
        assert {"Other matches", "Browse"} <= set(_labels(edited))
        card, pages = edited, pages + 1
    assert pages >= 2
    assert sorted(seen) == sorted(g.heading["en"] for g in entry.practices)  # each group once
    assert len(tg.api.chat_messages(chat)) == 2  # the question and the card


async def test_other_matches_lists_the_next_results(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    await tg.press(amani, card, "Other matches")
    listing = tg.last_bot_message(chat)
    assert listing.message_id == card.message_id
    assert listing.text.startswith("Matches for your question:\n1. <b>2.8.d</b>")
    labels = _labels(listing)
    assert labels[0] == "1. 2.8.d" and len(labels) >= 2
    second = labels[1].split(". ", 1)[1]
    await tg.press(amani, listing, labels[1])
    other = tg.last_bot_message(chat)
    assert other.text.startswith(f"<b>{second}</b> · <b>{_title(second)}</b>")
    assert other.text.endswith(f"<i>{CAVEAT}</i>")
    await tg.press(amani, other, "Other matches")
    await tg.press(amani, tg.last_bot_message(chat), "1. 2.8.d")
    assert tg.last_text(chat) == card.text


async def test_browse_button_opens_the_section_in_a_new_message(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    await tg.press(amani, card, "Browse")
    section = tg.last_bot_message(chat)
    assert section.message_id != card.message_id
    assert tg.api.messages[(chat, card.message_id)].text == card.text  # the answer stays
    assert section.text.startswith("<b>2.8 Human rights violations</b>\nChoose a challenge:")
    assert _labels(section) == ["2.8.a", "2.8.b", "2.8.c", "2.8.d", "Back"]
    await tg.press(amani, section, "2.8.b")
    challenge = tg.last_bot_message(chat)
    assert challenge.message_id == section.message_id
    assert challenge.text.startswith(f"<b>2.8.b</b> · <b>{_title('2.8.b')}</b>")
    assert default_catalogue()["2.8.b"].summary["en"] in challenge.text
    assert challenge.text.endswith(f"<i>{CAVEAT}</i>")
    await tg.press(amani, challenge, "Back")
    assert tg.last_text(chat).startswith("<b>2.8 Human rights violations</b>")
    await tg.press(amani, tg.last_bot_message(chat), "Back")
    assert tg.last_text(chat).startswith("<b>Chapter 2. Working with public security forces</b>")
    await tg.press(amani, tg.last_bot_message(chat), "Back")
    assert "Choose a chapter:" in tg.last_text(chat)


async def test_a_card_that_cannot_be_edited_is_sent_again(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    tg.api.messages[(chat, card.message_id)].deleted = True  # deleted by the user meanwhile
    await tg.press(amani, card, "More practices")
    page = tg.last_bot_message(chat)
    assert page.message_id != card.message_id and "Good practices 1–3 of 13:" in page.text


async def test_practices_browses_chapters_sections_and_challenges(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/practices")
    top = tg.last_bot_message(chat)
    assert _labels(top) == ["1. Working with host governments",
                            "2. Working with public security forces",
                            "3. Working with private security providers",
                            "4. Working with communities",
                            "Fact sheets and case studies"]
    await tg.press(amani, top, "1. Working with host governments")
    chapter = tg.last_bot_message(chat)
    catalogue = default_catalogue()
    assert _labels(chapter) == [f"{s.id} {s.title['en']}"
                                for s in catalogue.sections_with_entries(1)] + ["Back"]
    assert _labels(chapter)[:2] == ["1.1 Engagement and coordination",
                                    "1.2 Governance and transparency"]
    await tg.press(amani, chapter, "1.2 Governance and transparency")
    assert _labels(tg.last_bot_message(chat)) == ["1.2.a", "1.2.b", "1.2.c", "1.2.d", "Back"]
    stubs = [e.id for e in catalogue.entries_in_section("1.2") if not e.has_practices]
    assert stubs == ["1.2.b", "1.2.c", "1.2.d"]
    assert tg.last_text(chat).count("<i>(practices not yet written)</i>") == len(stubs)
    await tg.press(amani, tg.last_bot_message(chat), "1.2.b")
    card = tg.last_bot_message(chat)
    assert "The good practices for this challenge are not yet written in this catalogue." in (
        card.text)
    assert "toolkit gives no" not in card.text
    assert "See also:" in card.text and card.text.endswith(f"<i>{CAVEAT}</i>")
    assert _labels(card) == ["1.2.a", "1.2.c", "Back"]
    await tg.press(amani, card, "1.2.c")
    assert tg.last_text(chat).startswith(f"<b>1.2.c</b> · <b>{_title('1.2.c')}</b>")


async def test_challenge_cards_page_through_practices(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/practices")
    await tg.press(amani, tg.last_bot_message(chat), "Fact sheets and case studies")
    await tg.press(amani, tg.last_bot_message(chat), "icwg")
    card = tg.last_bot_message(chat)
    assert "Good practices 1–3 of 6:" in card.text
    await tg.press(amani, card, "More practices")
    assert "Good practices 4–6 of 6:" in tg.last_text(chat)
    assert "More practices" not in _labels(tg.last_bot_message(chat))
    assert default_catalogue()["icwg"].summary["en"] not in tg.last_text(chat)


async def test_practices_in_a_group_and_in_the_users_language(tg, group_chat):
    rosa = _user(2003, "Rosa", "es")
    await tg.send(rosa, group_chat, "/practices")
    assert "2. Trabajar con las fuerzas de seguridad pública" in _labels(
        tg.last_bot_message(group_chat))


@pytest.mark.parametrize("data", [
    "pq:a:forged:0:0",  # unknown token
    "pq:x:forged:0:0",
    "pe:9.9.z:0",  # unknown entry
    "pe:~0123456789ab:0",
    "pe:2.8.d:99",  # no such page
    "pe:2.8.d:-1",
    "pb:chapter:99:0",
    "pb:chapter:99999999999999999999:0",  # numbers far out of range are refused, not crashed on
    "pe:2.8.d:99999999999999999999",
    "pb:section:99999999999999999999.1:0",
    "pb:chapter:abc:0",
    "pb:section:7.7:0",
    "pb:nowhere::0",
    "pe:2.8.d:abc",  # not even parseable: the fallback router answers
    "pq:a",
])
async def test_forged_buttons_are_refused(tg, amani, data):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/practices")
    top = tg.last_bot_message(chat)
    await tg.press_data(amani, top, data)
    answer = _alert(tg)
    assert (answer["text"], answer["show_alert"]) == (INVALID, True)
    assert tg.last_bot_message(chat).text == top.text


async def test_buttons_of_an_answer_out_of_range_are_refused(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    card = tg.last_bot_message(chat)
    token = card.buttons()[1]["callback_data"].split(":")[2]
    big = "9" * 20
    for data in (f"pq:a:{token}:9:0", f"pq:a:{token}:0:40", f"pq:a:{token}:-1:0",
                 f"pq:a:{token}:{big}:0", f"pq:a:{token}:0:{big}"):
        await tg.press_data(amani, card, data)
        assert _alert(tg)["text"] == INVALID
    eve = _user(2004, "Eve", "en")
    await tg.send(eve, tg.private_chat(eve), "/practices")
    await tg.press_data(eve, tg.last_bot_message(eve.id), f"pq:o:{token}:0:0")
    assert _alert(tg)["text"] == INVALID  # the token belongs to Amani's chat, not Eve's


async def test_old_answers_expire(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, f"/ask {POLICE_QUESTION}")
    first = tg.last_bot_message(chat)
    for _ in range(20):
        await tg.send(amani, chat, f"/ask {GOVERNOR_QUESTION}")
    await tg.press(amani, first, "Other matches")
    assert _alert(tg)["text"] == INVALID
    # the governor's question is French, asked from an English app: answered in French
    await tg.press(amani, tg.last_bot_message(chat), translate("Other matches", "fr"))
    assert tg.last_text(chat).startswith(translate("Matches for your question:", "fr"))


async def test_help_lists_ask_and_practices(tg, amani, group_chat):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/help")
    assert "/ask - " in tg.last_text(chat) and "/practices - " in tg.last_text(chat)
    await tg.send(amani, group_chat, "/help")
    assert "/ask - " in tg.last_text(group_chat)


def _write_entry(directory: Path, points: int, size: int) -> None:
    text = ("Widget festival security & <safety> planning needs care. " * 40)[:size]
    entry = {
        "id": "widgetfest", "kind": "factsheet", "has_practices": True,
        "title": {"en": "Security at the giant widget festival"},
        "summary": {"en": "What to do when a widget festival comes to town."},
        "practices": [{"heading": {"en": f"Plan the festival, part {n}"},
                       "points": [{"text": {"en": text}, "sources": ["VPs: 4"]}] * points}
                      for n in range(1, 5)],
        "questions": {"en": ["How do we secure the giant widget festival?"]},
        "keywords": {"en": ["widget", "festival"]},
    }
    (directory / "widgetfest.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")


async def test_long_answers_fit_in_one_message(tg, settings, tmp_path, amani):
    operator = tmp_path / "operator"
    operator.mkdir()
    _write_entry(operator, points=6, size=1100)
    settings.catalogue_dirs_value = str(operator)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/ask how do we secure the widget festival?")
    card = tg.last_bot_message(chat)
    assert card.text.startswith("<b>widgetfest</b>")
    assert len(card.text) <= TELEGRAM_TEXT_LIMIT
    assert "&amp; &lt;safety&gt;" in card.text and "<safety>" not in card.text
    assert card.text.endswith(f"<i>{CAVEAT}</i>")
    while "More practices" in _labels(card):
        await tg.press(amani, card, "More practices")
        card = tg.last_bot_message(chat)
        assert len(card.text) <= TELEGRAM_TEXT_LIMIT and card.text.endswith(f"<i>{CAVEAT}</i>")


async def test_a_broken_catalogue_is_explained(tg, settings, tmp_path, amani):
    settings.catalogue_dirs_value = str(tmp_path / "missing")
    chat = tg.private_chat(amani)
    expected = "The good-practice catalogue is not available right now. Please try again later."
    await tg.send(amani, chat, POLICE_QUESTION)
    assert tg.last_text(chat) == expected
    await tg.send(amani, chat, "/practices")
    assert tg.last_text(chat) == expected
    await tg.press_data(amani, tg.last_bot_message(chat), "pb:top::0")
    assert (_alert(tg)["text"], _alert(tg)["show_alert"]) == (expected, True)


SWAHILI_POLICE = "polisi wamewakamata waandamanaji karibu na mgodi, tufanye nini?"


async def test_a_question_in_swahili_from_an_english_app_is_answered_in_swahili(tg):
    """Telegram has no Swahili app: someone who chose no language and writes Swahili reads the
    answer in Swahili, and the buttons under it keep to Swahili."""
    user = _user(2003, "Bahati", "en")
    chat = tg.private_chat(user)
    await tg.send(user, chat, f"/ask {SWAHILI_POLICE}")
    card = tg.last_bot_message(chat)
    assert card.text.startswith(f"<b>2.8.d</b> · <b>{_title('2.8.d', 'sw')}</b>")
    more = translate("More practices", "sw")
    assert more in [b["text"] for b in card.buttons()]
    await tg.press(user, card, more)
    again = tg.last_bot_message(chat)
    assert _title("2.8.d", "sw") in again.text
    assert translate("More practices", "en") not in [b["text"] for b in again.buttons()]


async def test_a_chosen_language_is_kept_whatever_the_question_is_written_in(tg):
    user = _user(2004, "Amani", "sw")
    chat = tg.private_chat(user)
    await tg.send(user, chat, "/language")
    await tg.press(user, tg.last_bot_message(chat), "English")
    await tg.send(user, chat, f"/ask {SWAHILI_POLICE}")
    assert tg.last_text(chat).startswith(f"<b>2.8.d</b> · <b>{_title('2.8.d', 'en')}</b>")
