"""The console's map of names to Telegram ids, kept in the data dir between runs."""

from __future__ import annotations

import io
import logging

from bot.console import FIRST_GROUP_ID, FIRST_USER_ID, People, logs_to_file


def test_ids_are_kept_and_new_names_get_fresh_ones(tmp_path):
    path = tmp_path / "console-people.json"
    people = People(path)
    people.users["amani"] = {"id": people.user_id(), "name": "Amani", "language": "en"}
    people.users["bahati"] = {"id": people.user_id(), "name": "Bahati", "language": "sw"}
    people.groups["Goma"] = {"id": people.group_id(), "creator": FIRST_USER_ID, "admins": []}
    people.save()
    again = People(path)
    assert again.users == people.users and again.groups == people.groups
    assert [u["id"] for u in again.users.values()] == [FIRST_USER_ID, FIRST_USER_ID + 1]
    assert again.groups["Goma"]["id"] == FIRST_GROUP_ID
    assert again.user_id() == FIRST_USER_ID + 2 and again.group_id() == FIRST_GROUP_ID - 1


def test_a_damaged_file_starts_afresh(tmp_path):
    path = tmp_path / "console-people.json"
    for content in ("{not json", "[]", '{"users": {"x": {"id": "seven"}}, "groups": 3}'):
        path.write_text(content)
        people = People(path)
        assert people.users == {} and people.groups == {}
        assert people.user_id() == FIRST_USER_ID


def test_logs_go_to_the_file_and_come_back(tmp_path):
    terminal = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [logging.StreamHandler(terminal)]
    try:
        with logs_to_file(tmp_path / "console.log"):
            logging.getLogger("bot.test").warning("created a new report key")
        assert terminal.getvalue() == ""
        assert "created a new report key" in (tmp_path / "console.log").read_text()
        logging.getLogger("bot.test").warning("after the console")
        assert "after the console" in terminal.getvalue()
    finally:
        root.handlers = saved


async def test_console_commands_keep_people_groups_and_admins(tmp_path):
    from aiogram import Dispatcher

    from bot.console import Console
    from bot.local_api import LocalTelegram

    path = tmp_path / "console-people.json"

    async def run(lines: list[str]) -> tuple[Console, str]:
        out = io.StringIO()
        console = Console(LocalTelegram(Dispatcher()), out, people_file=path)
        for line in lines:
            await console.handle(line)
        return console, out.getvalue()

    first, _ = await run([":in group Goma", ":as Neema sw", ":lang ln", ":admin on",
                          ":as Bahati"])
    second, out = await run([":in group Bukavu", ":in group Goma", ":as neema", ":who"])
    assert "(you are Neema [ln] in the group Goma)" in out  # her language was kept
    assert second.users["neema"].id == first.users["neema"].id
    assert second.people.users["bahati"]["id"] == first.users["bahati"].id
    assert second.groups["Goma"] == first.groups["Goma"] != second.groups["Bukavu"]
    assert "(created group chat Goma" not in out and "(created group chat Bukavu" in out
    api = second.local.api
    assert api.creators[second.groups["Goma"]] == second.users["amani"].id
    assert second.users["neema"].id in api.admins[second.groups["Goma"]]
