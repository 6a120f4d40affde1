"""The compiled catalogs kept beside the .po files are used only while the .po is unchanged."""

from __future__ import annotations

from bot.i18n import compile_po

PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Cancel"
msgstr "{word}"
"""


def write_po(tmp_path, word: str):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    po = folder / "messages.po"
    po.write_text(PO.format(word=word), encoding="utf-8")
    return po


def test_compiled_catalog_is_kept_and_follows_the_po(tmp_path):
    po = write_po(tmp_path, "Annuler")
    assert compile_po(po).gettext("Cancel") == "Annuler"
    cache = po.with_name(".messages.cache.mo")
    assert cache.is_file()
    assert compile_po(po).gettext("Cancel") == "Annuler"  # read from the cache
    write_po(tmp_path, "Abandonner")
    assert compile_po(po).gettext("Cancel") == "Abandonner"


def test_unwritable_folder_still_compiles(tmp_path):
    po = write_po(tmp_path, "Annuler")
    po.with_name(".messages.cache.mo").mkdir()  # cannot be read nor replaced by a file
    assert compile_po(po).gettext("Cancel") == "Annuler"
    assert sorted(p.name for p in po.parent.iterdir()) == [".messages.cache.mo", "messages.po"]
