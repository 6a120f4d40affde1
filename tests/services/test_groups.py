"""Unit tests of the working-group and people services (no Telegram involved)."""

from __future__ import annotations

import pytest

from bot.services import groups, people
from bot.services.groups import GroupError, SetupRequest, parse_setup_args
from bot.services.people import ProfileError, TelegramIdentity
from storage.models import Role


def test_parse_setup_args_name_and_zone():
    assert parse_setup_args("  South   Kivu | Africa/Lubumbashi ") == SetupRequest(
        "South Kivu", "Africa/Lubumbashi")
    assert parse_setup_args("Comité Minero") == SetupRequest("Comité Minero", None)
    assert parse_setup_args(None) is None
    assert parse_setup_args("   ") is None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ("x" * 121, "name_long"),
        (" | Africa/Lubumbashi", "name_empty"),
        ("WG | Mars/Base", "timezone"),
    ],
)
def test_parse_setup_args_refusals(args, code):
    with pytest.raises(GroupError) as err:
        parse_setup_args(args)
    assert err.value.code == code


async def _person(session, telegram_id, name, username=None):
    return await people.touch_person(
        session, TelegramIdentity(telegram_id, name, username=username, language_code="fr"))


async def test_register_group_makes_secretariat_and_refuses_twice(session):
    amani = await _person(session, 1, "Amani", "amani")
    group = await groups.register_group(
        session, -100, SetupRequest("South Kivu", None), default_timezone="Africa/Kinshasa",
        default_language="fr", secretariat=[amani])
    assert group.timezone == "Africa/Kinshasa" and group.language == "fr"
    assert len(group.code) == 8
    membership = await groups.get_membership(session, group, amani)
    assert membership.role == Role.SECRETARIAT.value
    with pytest.raises(GroupError) as err:
        await groups.register_group(
            session, -100, SetupRequest("Again", None), default_timezone="UTC",
            default_language="en", secretariat=[amani])
    assert err.value.code == "already_registered"
    assert (await groups.get_group_by_code(session, group.code.lower())).id == group.id


async def test_roles_grant_revoke_and_last_secretariat(session):
    amani = await _person(session, 1, "Amani", "amani")
    bahati = await _person(session, 2, "Bahati", "Bahati")
    group = await groups.register_group(
        session, -100, SetupRequest("WG", None), default_timezone="UTC", default_language="en",
        secretariat=[amani])
    with pytest.raises(GroupError) as err:
        await groups.revoke_secretariat(session, group, amani)
    assert err.value.code == "last_secretariat"
    await groups.grant_secretariat(session, group, bahati)
    assert await groups.count_secretariat(session, group) == 2
    with pytest.raises(GroupError):
        await groups.grant_secretariat(session, group, bahati)
    await groups.revoke_secretariat(session, group, amani)
    assert (await groups.get_membership(session, group, amani)).role == Role.MEMBER.value
    with pytest.raises(GroupError) as err:
        await groups.revoke_secretariat(session, group, amani)
    assert err.value.code == "not_secretariat"
    assert (await people.find_by_username(session, "@BAHATI")).id == bahati.id


async def test_ensure_member_is_idempotent_and_members_by_pillar(session):
    amani = await _person(session, 1, "Amani")
    bahati = await _person(session, 2, "Bahati")
    group = await groups.register_group(
        session, -100, SetupRequest("WG", None), default_timezone="UTC", default_language="en",
        secretariat=[amani])
    _, created = await groups.ensure_member(session, group, bahati)
    _, again = await groups.ensure_member(session, group, bahati)
    assert created and not again
    await people.set_pillar(session, bahati, "community")
    await people.set_pillar(session, amani, "company")
    grouped = await groups.members_by_pillar(session, group)
    assert list(grouped) == ["company", "community"]
    assert [p.full_name for p, _ in grouped["community"]] == ["Bahati"]
    assert [g.name for g, _ in await groups.groups_of(session, bahati)] == ["WG"]


async def test_update_group_validates(session):
    amani = await _person(session, 1, "Amani")
    group = await groups.register_group(
        session, -100, SetupRequest("WG", None), default_timezone="UTC", default_language="en",
        secretariat=[amani])
    await groups.update_group(session, group, level="provincial", language="ln",
                              timezone="America/Bogota")
    assert (group.level, group.language, group.timezone) == ("provincial", "ln", "America/Bogota")
    for field, value in [("level", "galactic"), ("language", "de"), ("timezone", "Nowhere/X")]:
        with pytest.raises(GroupError):
            await groups.update_group(session, group, **{field: value})


async def test_profile_setters_validate(session):
    person = await _person(session, 1, "Amani")
    assert person.telegram_language == "fr"
    await people.set_organisation(session, person, "  Comité   de  vigilance ")
    assert person.organisation == "Comité de vigilance"
    assert await people.toggle_cochair(session, person) is True
    await people.set_timezone(session, person, "Africa/Kinshasa")
    cases = [
        (people.set_organisation, "x" * 121, "organisation_long"),
        (people.set_organisation, "   ", "organisation_empty"),
        (people.set_timezone, "Moon/Base", "timezone"),
        (people.set_pillar, "army", "pillar"),
        (people.set_language, "de", "language"),
    ]
    for setter, value, code in cases:
        with pytest.raises(ProfileError) as err:
            await setter(session, person, value)
        assert err.value.code == code


async def test_touch_person_refreshes_identity(session):
    first = await _person(session, 7, "Old Name", "old")
    again = await people.touch_person(session, TelegramIdentity(7, "New Name", "new", "sw"))
    assert again.id == first.id
    assert (again.full_name, again.username, again.telegram_language) == ("New Name", "new", "sw")


async def test_unknown_people_are_stored_only_when_something_about_them_is(session):
    from sqlmodel import select

    from storage.models import Person

    who = TelegramIdentity(987654321, "Amani", "reporter_x", "sw")
    transient = await people.touch_person(session, who, create=False)
    assert transient.id is None and transient.username == "reporter_x"
    await session.flush()
    assert (await session.exec(select(Person))).all() == []
    await people.set_language(session, transient, "fr")
    stored = (await session.exec(select(Person))).one()
    assert (stored.telegram_id, stored.language) == (987654321, "fr")
    again = await people.touch_person(session, who, create=False)
    assert again.id == stored.id


async def test_handled_updates_are_claimed_once_and_pruned_by_count(session):
    from bot.services.updates import claim_update, prune_handled

    assert await claim_update(session, 7) is True
    assert await claim_update(session, 7) is False
    for update_id in (8, 9, 10):
        assert await claim_update(session, update_id)
    assert await prune_handled(session, keep=2) == 2  # 7 and 8: only the newest ids are kept
    assert await claim_update(session, 9) is False and await claim_update(session, 8) is True


async def test_text_with_a_nul_character_is_stored_without_it(session):
    """PostgreSQL refuses NUL in text; a forged message must not fail the update for it."""
    person = await people.touch_person(session, people.TelegramIdentity(555, "Ne\x00ema"))
    await session.commit()
    assert (await people.touch_person(session, people.TelegramIdentity(555, "Neema"))).id \
        == person.id


def test_a_time_zone_name_too_long_for_the_system_is_refused_as_unknown():
    from bot.config import check_timezone

    with pytest.raises(ValueError, match="unknown time zone"):
        check_timezone("Africa/" + "x" * 5000)
