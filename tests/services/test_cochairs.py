"""Co-chair rotation fairness over 24 simulated monthly meetings with 5 company and 7 civil-society
eligible members: turns differ by at most one per pillar, also with declines, unanswered
invitations and unavailability; no one serves twice in a row while others wait."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import calendar as cal
from bot.services import cochairs
from bot.services.groups import SetupRequest, ensure_member, register_group
from storage.agenda_tables import CochairTurn
from storage.models import OutboxMessage, Person, WorkingGroup

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


async def _group(session) -> tuple[WorkingGroup, dict[str, list[Person]]]:
    secretary = Person(telegram_id=900, full_name="Secretary")
    session.add(secretary)
    await session.flush()
    group = await register_group(session, -100777, SetupRequest("WG", "Africa/Lubumbashi"),
                                 default_timezone="UTC", default_language="en",
                                 secretariat=[secretary])
    pillars: dict[str, list[Person]] = {"company": [], "civil_society": []}
    for n in range(12):
        pillar = "company" if n < 5 else "civil_society"
        person = Person(telegram_id=1000 + n, full_name=f"P{n}", pillar=pillar,
                        willing_cochair=True)
        session.add(person)
        await session.flush()
        await ensure_member(session, group, person)
        pillars[pillar].append(person)
    unwilling = Person(telegram_id=999, full_name="Unwilling", pillar="company")
    session.add(unwilling)
    await session.flush()
    await ensure_member(session, group, unwilling)
    await cal.create_meeting(session, group, title="Monthly", start_local=datetime(
        2026, 12, 3, 10, 0), rule="FREQ=MONTHLY;BYDAY=+1TH")
    return group, pillars


async def _run(database, behaviour) -> tuple[dict[int, str], list[list[int]]]:
    """Simulate 24 meetings; `behaviour(person_id, meeting_no)` -> accept, decline, silent,
    away. Returns pillar per person and the confirmed co-chairs per meeting."""
    async with database.session() as s:
        group, pillars = await _group(s)
        pillar_of = {p.id: k for k, ps in pillars.items() for p in ps}
        meeting = (await cal.group_meetings(s, group))[0]
        occurrences = await cal.next_occurrences(s, meeting, NOW, 24)
        chairs = []
        for number, occ in enumerate(occurrences):
            now = occ.start - timedelta(days=14)
            for _round in range(30):
                for turn in await cochairs.turns_of(s, meeting.id, occ.key):
                    if turn.status != "invited":
                        continue
                    person = await s.get(Person, turn.person_id)
                    what = behaviour(person.id, number)
                    if what == "away":
                        await cochairs.set_unavailable(s, occ, person)
                    elif what in ("accept", "decline"):
                        await cochairs.answer(s, turn.id, person, what == "accept", now)
                await cochairs.fill(s, group, occ, now)
                if len(await cochairs.confirmed(s, occ)) == 2:
                    break
                now += timedelta(hours=49)
            chairs.append([p.id for p in await cochairs.confirmed(s, occ)])
    return pillar_of, chairs


def _check(pillar_of, chairs) -> None:
    assert all(len(pair) == 2 for pair in chairs)
    for pillar, size in (("company", 5), ("civil_society", 7)):
        counts = {p: 0 for p, k in pillar_of.items() if k == pillar}
        assert len(counts) == size
        for pair in chairs:
            for person in pair:
                if pillar_of[person] == pillar:
                    counts[person] += 1
        assert max(counts.values()) - min(counts.values()) <= 1, (pillar, counts)
        for before, after in zip(chairs, chairs[1:], strict=False):
            repeated = set(before) & set(after)
            assert not {p for p in repeated if pillar_of[p] == pillar}, (pillar, before, after)


async def test_everyone_accepts(database):
    pillar_of, chairs = await _run(database, lambda _p, _n: "accept")
    _check(pillar_of, chairs)


async def test_declines_silence_and_unavailability_keep_it_fair(database):
    rng = random.Random(7)
    choices = ["accept"] * 6 + ["decline", "silent", "away"]
    pillar_of, chairs = await _run(database, lambda _p, _n: rng.choice(choices))
    _check(pillar_of, chairs)


async def test_unavailable_keeps_place_at_head_of_queue(database):
    async with database.session() as s:
        group, pillars = await _group(s)
        meeting = (await cal.group_meetings(s, group))[0]
        first, second = await cal.next_occurrences(s, meeting, NOW, 2)
        head = pillars["company"][0]
        await cochairs.set_unavailable(s, first, head)
        await cochairs.fill(s, group, first, NOW)
        turns = await cochairs.turns_of(s, meeting.id, first.key)
        assert head.id not in {t.person_id for t in turns}
        queue = await cochairs.queue(s, group, ["company"])
        assert queue[0].person.id == head.id
        invited = await cochairs.fill(s, group, second, NOW)
        assert head.id in {t.person_id for t in invited}
        rows = (await s.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "cochair_invite"))).all()
        assert len(rows) == 4


async def test_override_is_recorded_and_counts(database):
    async with database.session() as s:
        group, pillars = await _group(s)
        meeting = (await cal.group_meetings(s, group))[0]
        occ = (await cal.next_occurrences(s, meeting, NOW, 1))[0]
        await cochairs.fill(s, group, occ, NOW)
        a, b = pillars["company"][3], pillars["civil_society"][6]
        secretary = (await s.exec(select(Person).where(Person.telegram_id == 900))).one()
        await cochairs.override(s, group, occ, [a, b], secretary, NOW)
        assert [p.id for p in await cochairs.confirmed(s, occ)] == [a.id, b.id]
        statuses = sorted(t.status for t in (await s.exec(select(CochairTurn))).all())
        assert statuses == ["override", "override", "replaced", "replaced"]
        with pytest.raises(cochairs.CochairError):
            await cochairs.override(s, group, occ, [], secretary, NOW)
