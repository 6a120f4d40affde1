"""The tree tells the architecture: these tests keep it that way.

- The import contracts in pyproject.toml (run by `lint-imports`): domain services, the practice
  search and the outbox never import aiogram, and each layer imports only from those below it.
- Handlers stay thin: a handler module over HANDLER_LINES lines says why at its top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLER_LINES = 400
REASON_MARK = "Longer than"


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_services_import_no_telegram_framework() -> None:
    """A direct check beside the contract: importing every service pulls in no aiogram."""
    modules = sorted(f"bot.services.{p.stem}" for p in (ROOT / "bot" / "services").glob("*.py")
                     if p.stem != "__init__")
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('aiogram')}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_handler_modules_are_short_or_say_why() -> None:
    long = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if source.count("\n") <= HANDLER_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if REASON_MARK not in docstring:
            long.append(f"{path.name} ({source.count(chr(10))} lines)")
    assert not long, (f"handler modules over {HANDLER_LINES} lines without a reason "
                      f"('{REASON_MARK} ...') in their docstring: {long}")
