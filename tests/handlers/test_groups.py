"""Dispatcher-level tests: real updates through the real Dispatcher, Bot API answered locally."""

from __future__ import annotations

from sqlmodel import select

from bot.local_api import LocalUser
from storage.models import Membership, Person, WorkingGroup


async def _rows(database, model):
    async with database.session() as s:
        return list((await s.exec(select(model))).all())


async def test_setup_by_creator_registers_group_with_admins_as_secretariat(
    tg, database, amani, bahati, group_chat
):
    tg.set_admin(group_chat, bahati)
    await tg.send(amani, group_chat, "/setup South Kivu | Africa/Lubumbashi")
    text = tg.last_text(group_chat)
    assert "is now a working group" in text
    assert "Africa/Lubumbashi" in text and "Amani" in text and "Bahati" in text
    [group] = await _rows(database, WorkingGroup)
    assert (group.name, group.timezone, group.chat_id) == (
        "South Kivu", "Africa/Lubumbashi", group_chat)
    roles = {m.role for m in await _rows(database, Membership)}
    assert roles == {"secretariat"}
    buttons = [b["text"] for b in tg.last_bot_message(group_chat).buttons()]
    assert buttons == ["Level", "Kiswahili", "Français", "Lingála", "✓ English", "Español"]


async def test_setup_uses_configured_default_zone(tg, database, amani, group_chat):
    await tg.send(amani, group_chat, "/setup Bukavu")
    [group] = await _rows(database, WorkingGroup)
    assert group.timezone == "Africa/Lubumbashi"


async def test_setup_by_non_admin_is_refused(tg, database, bahati, group_chat):
    await tg.send(bahati, group_chat, "/setup Takeover")
    assert tg.last_text(group_chat) == "Only a chat administrator can register this group."
    assert await _rows(database, WorkingGroup) == []


async def test_setup_refuses_unknown_zone_and_long_name(tg, database, amani, group_chat):
    await tg.send(amani, group_chat, "/setup WG | Africa/Atlantis")
    assert "I don't know the time zone \"Africa/Atlantis\"" in tg.last_text(group_chat)
    await tg.send(amani, group_chat, "/setup " + "N" * 200)
    assert "too long: at most 120 characters" in tg.last_text(group_chat)
    await tg.send(amani, group_chat, "/setup")
    assert "Give the group a name" in tg.last_text(group_chat)
    assert await _rows(database, WorkingGroup) == []


async def test_setup_again_shows_and_edits_settings(tg, database, amani, registered_group):
    await tg.send(amani, registered_group, "/setup Sud-Kivu | Africa/Kinshasa")
    card = tg.last_bot_message(registered_group)
    assert "Sud-Kivu" in card.text and "Africa/Kinshasa" in card.text
    await tg.press(amani, card, "Level")
    card = tg.last_bot_message(registered_group)
    assert [b["text"] for b in card.buttons()] == [
        "National", "Provincial", "Local", "Operational", "Back"]
    await tg.press(amani, card, "Provincial")
    await tg.press(amani, tg.last_bot_message(registered_group), "Français")  # one tap
    [group] = await _rows(database, WorkingGroup)
    assert (group.name, group.timezone, group.level, group.language) == (
        "Sud-Kivu", "Africa/Kinshasa", "provincial", "fr")
    assert "Level: Provincial" in tg.last_bot_message(registered_group).text


async def test_settings_buttons_refused_to_ordinary_members(
    tg, database, amani, bahati, registered_group
):
    await tg.send(bahati, registered_group, "/join")
    card = [m for m in tg.api.chat_messages(registered_group) if "Level" in str(m.buttons())][0]
    await tg.press(bahati, card, "Level")
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert answer["show_alert"] is True
    assert "Only the secretariat" in answer["text"]
    await tg.send(bahati, registered_group, "/setup Renamed")
    assert "Only the secretariat or a chat administrator" in tg.last_text(registered_group)
    [group] = await _rows(database, WorkingGroup)
    assert group.name == "South Kivu"


async def test_forged_callback_payloads_get_a_clear_answer(tg, database, amani, registered_group):
    card = tg.last_bot_message(registered_group)
    for data in ["gs:level:galactic", "gs:hack:1", "nonsense", "pf:pillar:army", "lang:de"]:
        await tg.press_data(amani, card, data)
        answer = tg.api.sent("answerCallbackQuery")[-1].params
        assert answer["text"] == "This button is not valid any more.", data
    [group] = await _rows(database, WorkingGroup)
    assert group.level == "local"


async def test_join_members_and_auto_membership(tg, database, amani, bahati, carlos,
                                               registered_group):
    await tg.send(bahati, registered_group, "/join")
    assert "Welcome to South Kivu, Bahati!" in tg.last_text(registered_group)
    link = tg.last_bot_message(registered_group).buttons()[0]["url"]
    assert link.endswith("?start=profile")
    await tg.send(bahati, registered_group, "/join")
    assert "already a member" in tg.last_text(registered_group)
    await tg.send(carlos, registered_group, "/members")  # first use of a group command
    text = tg.last_text(registered_group)
    assert "Members of <b>South Kivu</b>" in text
    for name in ("Amani", "Bahati", "Carlos"):
        assert name in text
    assert "Amani - secretariat" in text
    assert len(await _rows(database, Membership)) == 3


async def test_members_grouped_by_pillar(tg, amani, bahati, registered_group):
    await tg.send(bahati, registered_group, "/join")
    chat = tg.private_chat(bahati)
    await tg.send(bahati, chat, "/profile")
    await tg.press(bahati, tg.last_bot_message(chat), "Pillar")
    await tg.press(bahati, tg.last_bot_message(chat), "Community")
    await tg.send(bahati, registered_group, "/members")
    text = tg.last_text(registered_group)
    assert text.index("<b>Community</b>") < text.index("Bahati")
    assert text.index("<b>Pillar not set</b>") < text.index("Amani")


async def test_grant_and_revoke(tg, database, amani, bahati, carlos, registered_group):
    await tg.send(bahati, registered_group, "/join")
    await tg.send(carlos, registered_group, "/grant @bahati secretariat")
    assert tg.last_text(registered_group) == "Only the secretariat can change roles."
    await tg.send(amani, registered_group, "/grant @bahati admin")
    assert tg.last_text(registered_group).startswith("Usage: /grant")
    await tg.send(amani, registered_group, "/grant @nobody secretariat")
    assert "I don't know that person yet" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/grant @Bahati secretariat")
    assert tg.last_text(registered_group) == "Bahati is now in the secretariat of South Kivu."
    await tg.send(bahati, registered_group, "/revoke @amani")
    assert tg.last_text(registered_group) == "Amani is no longer in the secretariat of South Kivu."
    await tg.send(bahati, registered_group, "/revoke @bahati secretariat")
    assert "is the last member of the secretariat" in tg.last_text(registered_group)
    async with database.session() as s:
        rows = (await s.exec(select(Person.username, Membership.role).join(
            Membership, Membership.person_id == Person.id))).all()
    assert dict(rows) == {"amani": "member", "bahati": "secretariat", "carlos": "member"}


async def test_grant_by_reply(tg, amani, bahati, registered_group):
    said = await tg.send(bahati, registered_group, "hello everyone")
    await tg.send(amani, registered_group, "/grant secretariat", reply_to=said)
    assert tg.last_text(registered_group) == "Bahati is now in the secretariat of South Kivu."


async def test_group_commands_in_unregistered_group_and_private(tg, amani, group_chat):
    await tg.send(amani, group_chat, "/members")
    assert "not a registered working group yet" in tg.last_text(group_chat)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/join")
    assert tg.last_text(chat) == "This command works in a working group's chat."
    await tg.send(amani, chat, "/setup Something")
    assert "in the group chat you want to register" in tg.last_text(chat)


async def test_anonymous_admin_is_asked_to_speak_as_themselves(tg, database, group_chat):
    anonymous = LocalUser(id=1087968824, first_name="Group", username="GroupAnonymousBot")
    await tg.send(anonymous, group_chat, "/setup Hidden")
    assert "not anonymously" in tg.last_text(group_chat)
    assert await _rows(database, WorkingGroup) == []


async def test_groups_command_lists_my_groups(tg, amani, registered_group):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/groups")
    assert "South Kivu</b> - secretariat" in tg.last_text(chat)


async def test_grant_only_for_people_in_the_chat(tg, database, amani, bahati, registered_group):
    """A look-alike group cannot enlist someone of another group: Telegram must place them in
    this chat."""
    other = tg.group_chat(-1009999999, "South Kivu WG (copy)", creator=bahati)
    await tg.send(bahati, other, "/setup South Kivu | Africa/Lubumbashi")
    await tg.send(amani, registered_group, "/join")  # Amani is known, from the real group
    tg.api.outsiders[other] = {amani.id}
    await tg.send(bahati, other, "/grant @amani secretariat")
    assert tg.last_text(other) == ("Amani is not in this chat. Only people in this group's chat "
                                   "can join its secretariat.")
    async with database.session() as s:
        rows = (await s.exec(select(Membership).join(
            Person, Membership.person_id == Person.id).where(Person.telegram_id == amani.id)
        )).all()
    assert len(rows) == 1  # only the real group's membership
    tg.api.outsiders[other] = set()
    await tg.send(bahati, other, "/grant @amani secretariat")
    assert "is now in the secretariat" in tg.last_text(other)


async def test_a_french_secretariat_registers_a_french_group(tg, database, group_chat):
    claire = LocalUser(id=1010, first_name="Claire", username="claire", language_code="fr")
    tg.group_chat(group_chat, "Sud-Kivu", creator=claire)
    tg.set_admin(group_chat, claire)
    await tg.send(claire, group_chat, "/setup Sud-Kivu | Africa/Lubumbashi")
    [group] = await _rows(database, WorkingGroup)
    assert group.language == "fr"
    card = tg.last_bot_message(group_chat)
    assert "Langue par défaut : Français" in card.text
    assert [b["text"] for b in card.buttons()] == [  # the one-tap change
        "Niveau", "Kiswahili", "✓ Français", "Lingála", "English", "Español"]
    # A member who never chose a language reads the group's, not their app's English.
    kalume = LocalUser(id=1012, first_name="Kalume", username="kalume", language_code="en")
    await tg.send(kalume, group_chat, "/members")
    assert tg.last_text(group_chat).startswith("Membres de <b>Sud-Kivu</b>")


async def test_an_unknown_app_language_gives_the_deployments_default(tg, database, group_chat):
    hans = LocalUser(id=1011, first_name="Hans", username="hans", language_code="de")
    tg.set_admin(group_chat, hans)
    await tg.send(hans, group_chat, "/setup Ituri")
    [group] = await _rows(database, WorkingGroup)
    assert group.language == "en"
