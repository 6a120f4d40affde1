"""The common-word set is saved under the index cache and read back instead of rebuilt."""

from __future__ import annotations

from bot.practices import lexicon


def test_word_set_is_saved_and_read_back(tmp_path, monkeypatch):
    built = lexicon._load_or_build(tmp_path / "cache")
    assert "gate" in built and "fired" in built and "" not in built
    assert lexicon._cache_file(tmp_path / "cache").is_file()

    def refuse():
        raise AssertionError("rebuilt although saved")

    monkeypatch.setattr(lexicon, "_build_words", refuse)
    assert lexicon._load_or_build(tmp_path / "cache") == built


def test_unwritable_cache_still_gives_the_words(tmp_path, monkeypatch):
    monkeypatch.setattr(lexicon, "_build_words", lambda: frozenset({"gate"}))
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert lexicon._load_or_build(blocker / "cache") == {"gate"}
