"""The `catalogue check` and `practices search|eval` commands, through their own parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from bot.practices.catalogue import default_catalogue
from bot.practices.cli import register

EVAL_FILE = Path(__file__).resolve().parents[1] / "data" / "practice_questions.jsonl"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="wgbot")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def _operator_dir(tmp_path: Path, title: str) -> Path:
    data = default_catalogue()["2.8.d"].model_dump(exclude_none=True)
    data["title"] = {"en": title, "fr": title}
    (tmp_path / "2.8.d.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                         encoding="utf-8")
    return tmp_path


def test_search_json_is_an_array_in_rank_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "practices", "search",
                        "what should we do if the mining police arrest protesters?",
                        "--limit", "3", "--json")
    assert code == 0
    results = json.loads(out)
    assert isinstance(results, list) and 1 <= len(results) <= 3
    assert results[0]["id"] == "2.8.d"
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    for result in results:
        assert set(result) == {"id", "title", "score", "confidence", "practices"}
        assert all(set(p) == {"index", "heading", "score"} for p in result["practices"])


def test_search_in_french_answers_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "practices", "search", "--lang", "fr", "--json",
                        "que faire si le gouverneur ignore l'accord signé à Kinshasa ?")
    assert code == 0
    first = json.loads(out)[0]
    assert first["id"] == "1.1.c"
    assert first["title"] == default_catalogue()["1.1.c"].title["fr"]


def test_search_readable_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "practices", "search", "soldiers", "need", "human", "rights",
                        "training", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1. [2.5.a] ")
    assert any(line.startswith("     - ") for line in lines)
    assert any(line.startswith("2. [") for line in lines)


def test_search_never_answers_with_challenges_without_practices(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "practices", "search", "royalties paid to the province", "--json",
                     "--limit", "20")
    assert not {r["id"] for r in json.loads(out)} & {"1.2.a", "1.2.b", "1.2.c", "1.2.d"}


@pytest.mark.parametrize("question", [
    "what",
    "how do we buy kidnap insurance for our staff",
    "recette du poulet à la moambe"])
def test_search_without_match(capsys: pytest.CaptureFixture[str], question: str) -> None:
    assert _run(capsys, "practices", "search", question, "--json")[:2] == (0, "[]\n")
    assert _run(capsys, "practices", "search", question)[1] == (
        "No challenge in the catalogue answers this question.\n")


def test_search_names_the_unwritten_entry_a_declined_question_is_about(
        capsys: pytest.CaptureFixture[str]) -> None:
    question = "des orpailleurs creusent chaque nuit dans notre concession, que faire"
    assert _run(capsys, "practices", "search", question, "--lang", "fr", "--json")[1] == "[]\n"
    assert _run(capsys, "practices", "search", question, "--lang", "fr")[1] == (
        "No challenge in the catalogue answers this question.\n"
        "It is about [asm] Les mineurs artisanaux et à petite échelle sur une grande mine ou à "
        "proximité, whose practices are not written yet.\n")


def test_search_uses_operator_directories(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    directory = _operator_dir(tmp_path, "Our local wording of 2.8.d")
    _, out, _ = _run(capsys, "practices", "search", "police arrested protesters", "--json",
                     "--dir", str(directory))
    assert json.loads(out)[0]["title"] == "Our local wording of 2.8.d"


def test_eval_prints_accuracy_and_misses(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    file = tmp_path / "questions.jsonl"
    lines = [{"q": "soldiers have no human rights training", "expect": ["2.5.a"]},
             {"q": "les policiers ne sont pas payés", "lang": "fr", "expect": ["2.8.c"]},
             {"q": "soldiers have no human rights training", "expect": ["1.2.d"]}]
    file.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    lines.append({"q": "kidnap insurance for expatriates", "expect": []})
    lines.append({"q": "soldiers have no human rights training", "expect": []})
    file.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    code, out, _ = _run(capsys, "practices", "eval", str(file), str(file))
    assert code == 0
    assert "questions: 10" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:6]}
    # 1.2.d has no practices written: a question only it answers is out of the catalogue's
    # reach, counted with those out of scope (the search should decline it)
    assert rows["en"][:4] == ["2", "100.0%", "100.0%", "0.0%"]
    assert rows["fr"][:4] == ["2", "100.0%", "100.0%", "0.0%"]
    assert "out of scope" in out and out.splitlines()[5].split()[3:] == ["6", "33.3%"]
    assert "misses:" in out
    assert ("questions.jsonl:3 [en] 'soldiers have no human rights training': only 1.2.d "
            "(practices not written) answers it, yet answered 2.5.a" in out)
    assert "out of scope, yet answered 2.5.a" in out


def test_eval_default_language_and_json(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    file = tmp_path / "questions.jsonl"
    file.write_text('{"q": "polisi hawajalipwa mishahara", "expect": ["2.8.c"]}\n',
                    encoding="utf-8")
    code, out, _ = _run(capsys, "practices", "eval", str(file), "--lang-default", "sw", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["total"], report["top1"], report["top3"], report["misses"]) == (1, 1.0, 1.0, [])
    assert report["languages"]["sw"]["n"] == 1 and report["out_of_scope"]["n"] == 0
    assert set(report["languages"]["sw"]) == {"n", "top1", "top3", "abstained",
                                              "baseline_top1", "baseline_top3"}


def test_eval_on_the_project_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "practices", "eval", str(EVAL_FILE), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["total"] >= 40
    assert report["top1"] >= 0.75 and report["top3"] >= 0.85


def test_eval_of_the_development_set_runs(capsys: pytest.CaptureFixture[str]) -> None:
    # Written for the whole catalogue: on the shipped one only its format and columns are sure.
    dev = EVAL_FILE.with_name("practice_dev.jsonl")
    code, out, _ = _run(capsys, "practices", "eval", str(dev), "--json")
    report = json.loads(out)
    assert code == 0 and set(report["languages"]) == {"en", "fr", "es", "sw", "ln"}
    assert report["out_of_scope"]["n"] >= 25 and report["out_of_scope"]["abstained"] >= 0.8


def test_eval_rejects_a_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text('{"q": "ok", "expect": ["2.8.d"]}\n{"q": "no expectation"}\n',
                    encoding="utf-8")
    code, _, err = _run(capsys, "practices", "eval", str(file))
    assert code == 2
    assert "line 2" in err
    code, _, err = _run(capsys, "practices", "eval", str(tmp_path / "absent.jsonl"))
    assert code == 2 and "absent.jsonl" in err


def test_catalogue_check_lists_errors_with_file_and_field(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "2.8.d.yaml"
    broken.write_text("id: '2.8.d'\nchapter: 2\nsection: 2.8\nhas_practices: maybe\n"
                      "title: {fr: Sans anglais}\nsummary: {en: ok}\n", encoding="utf-8")
    code, out, _ = _run(capsys, "catalogue", "check", "--dir", str(tmp_path))
    assert code == 1
    assert f"{broken}: section: " in out
    assert f"{broken}: has_practices: " in out
    assert f"{broken}: title: " in out
    assert " 3 error(s), " in out.splitlines()[-1]


def test_catalogue_check_strict_fails_on_missing_translations(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    entry = {"id": "3.1.a", "chapter": 3, "section": "3.1", "has_practices": False,
             "title": {"en": "Only English"}, "summary": {"en": "Only English"}}
    (tmp_path / "3.1.a.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")
    code, out, _ = _run(capsys, "catalogue", "check", "--dir", str(tmp_path))
    assert code == 0 and "3.1.a.yaml: title.fr: warning: missing translation" in out
    assert "3.1.a.yaml: title.ln: warning: missing translation" in out
    assert _run(capsys, "catalogue", "check", "--dir", str(tmp_path), "--strict")[0] == 1


def test_search_refuses_a_broken_catalogue(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    (tmp_path / "2.8.d.yaml").write_text("id: '2.8.d'\n", encoding="utf-8")
    code, out, err = _run(capsys, "practices", "search", "police", "--dir", str(tmp_path))
    assert code == 2 and out == ""
    assert "catalogue check" in err and "2.8.d.yaml" in err


def test_commands_accept_the_application_settings(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="wgbot")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["practices", "search", "police", "--json"])
    assert args.func(args, object()) == 0
    assert json.loads(capsys.readouterr().out)
