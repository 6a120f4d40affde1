"""The `wgbot` command as a user runs it: one-line errors, migrations, the piped console."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from storage.migrate import heads

GOOD_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def wgbot(tmp_path: Path, *args: str, stdin: str | None = None, **env: str):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TELEGRAM_", "WGBOT_", "DATABASE_URL"))}
    environment.update({"WGBOT_DATA_DIR": str(tmp_path / "data"), "WGBOT_LOG_LEVEL": "WARNING"})
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=tmp_path, env=environment, timeout=60,
    )


def _one_line_error(result, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wgbot: ") and fragment in lines[0]


def test_run_without_token(tmp_path):
    _one_line_error(wgbot(tmp_path, "run"), "TELEGRAM_BOT_TOKEN is not set")


def test_run_with_malformed_token(tmp_path):
    _one_line_error(wgbot(tmp_path, "run", TELEGRAM_BOT_TOKEN="not-a-token"), "malformed")


def test_bad_default_time_zone(tmp_path):
    result = wgbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=GOOD_TOKEN,
                   WGBOT_DEFAULT_TIMEZONE="Mars/Olympus")
    _one_line_error(result, "unknown time zone 'Mars/Olympus'")


def test_unreachable_database(tmp_path):
    result = wgbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=GOOD_TOKEN,
                   DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/none")
    _one_line_error(result, "cannot reach the database")


def test_unopenable_sqlite_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = wgbot(tmp_path, "migrate", DATABASE_URL=f"sqlite+aiosqlite:///{blocker}/db.sqlite")
    assert result.returncode == 2 and result.stderr.startswith("wgbot: ")


def test_migrate_reports_revision(tmp_path):
    result = wgbot(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database at revision {heads()}"
    assert (tmp_path / "data" / "wgbot.db").exists()


def test_console_with_piped_input(tmp_path):
    script = "\n".join([
        "/start",
        ":in group Bukavu WG",
        "/setup Bukavu WG | Africa/Lubumbashi",
        ":as Bahati sw",
        "/join",
        ":1",
        ":1",
        ":6",
        ":in group Bukavu WG",
        "/members",
        ":press 9",
        "",
    ])
    result = wgbot(tmp_path, "console", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Hello Amani!" in out
    assert "This chat is now a working group." in out
    # Bahati never chose a language: the group's (English) in the group, her app's in private.
    assert "Welcome to Bukavu WG, Bahati!" in out
    assert "(opened the private chat with the bot: /start profile)" in out
    assert "Nguzo" in out  # her profile card, privately in Swahili
    assert "Community" in out  # the pillar she chose, listed by /members in the group
    assert "(that message has no button 9)" in out


def test_no_command_opens_console_without_token(tmp_path):
    result = wgbot(tmp_path, stdin="/help\n")
    assert result.returncode == 0, result.stderr
    assert "In this private chat you can:" in result.stdout


def test_load_settings_turns_errors_into_one_line(monkeypatch):
    monkeypatch.setenv("WGBOT_DEFAULT_LANGUAGE", "de")
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert "\n" not in str(err.value) and "unsupported language 'de'" in str(err.value)


def test_console_keeps_ids_per_name_between_runs(tmp_path):
    first = wgbot(tmp_path, "console", stdin="\n".join([
        "/start", ":in group Bukavu", "/setup Bukavu WG | Africa/Lubumbashi",
        ":as Bahati sw", "/start", "",
    ]))
    assert first.returncode == 0, first.stderr
    assert "This chat is now a working group." in first.stdout
    people = json.loads((tmp_path / "data" / "console-people.json").read_text())
    assert set(people["users"]) == {"amani", "bahati"} and set(people["groups"]) == {"Bukavu"}

    second = wgbot(tmp_path, "console", stdin="\n".join([
        ":in group Goma", "/setup Goma WG | Africa/Lubumbashi",  # a new group, not Bukavu's id
        ":in group Bukavu", "/setup Bukavu WG | Africa/Lubumbashi",  # the same group again
        ":as Neema sw", ":in private", "/start",  # a new person, not Bahati
        ":as Bahati", ":who", "",
    ]))
    assert second.returncode == 0, second.stderr
    out = second.stdout
    goma, bukavu = out.split("(you are Amani [en] in the group Bukavu)")
    assert "(created group chat Goma" in goma and "This chat is now a working group." in goma
    assert "Bukavu WG" not in goma
    assert "(created group chat Bukavu" not in out  # found again, with its id
    assert "This chat is now a working group." not in bukavu
    assert "Neema" in bukavu and "Bahati" not in bukavu.split("(you are Bahati")[0]
    assert "(you are Bahati [sw] in the private chat with Bahati)" in out
    again = json.loads((tmp_path / "data" / "console-people.json").read_text())
    assert {k: v["id"] for k, v in again["users"].items() if k != "neema"} == {
        k: v["id"] for k, v in people["users"].items()}
    assert again["groups"]["Bukavu"]["id"] == people["groups"]["Bukavu"]["id"]
    assert again["groups"]["Goma"]["id"] != people["groups"]["Bukavu"]["id"]


def test_console_logs_go_to_a_file(tmp_path):
    result = wgbot(tmp_path, "console", stdin="/help\n", WGBOT_LOG_LEVEL="INFO")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert " INFO " not in result.stdout and " WARNING " not in result.stdout
    log = (tmp_path / "data" / "console.log").read_text()
    assert "report key" in log  # the new report key warning, kept out of the chat
