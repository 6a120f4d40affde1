"""Figures for concern reports: cost of the receipt hash (Argon2id), of encryption, and of filing
and finding reports on a database. Prints numbers; asserts nothing.

    .venv/bin/python bench/reports.py [DATABASE_URL] [REPORTS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rate_limits import MemoryCounters  # noqa: E402
from bot.services.groups import SetupRequest, register_group  # noqa: E402
from bot.services.people import TelegramIdentity, touch_person  # noqa: E402
from bot.services.report_crypto import ReportCipher, new_receipt  # noqa: E402
from bot.services.reports import Draft, case_by_receipt, submit  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def timed(label: str, runs: int, function) -> None:
    start = time.perf_counter()
    for _ in range(runs):
        function()
    each = (time.perf_counter() - start) / runs
    print(f"{label:<34} {each * 1000:8.2f} ms")


async def database_figures(url: str, reports: int) -> None:
    cipher = ReportCipher(b"b" * 32)
    database = Database(url)
    await upgrade(database)
    async with database.session() as session:
        person = await touch_person(session, TelegramIdentity(1, "Bench", None))
        group = await register_group(session, -1, SetupRequest("Bench", None),
                                     default_timezone="UTC", default_language="en",
                                     secretariat=[person])
    receipts = []
    start = time.perf_counter()
    for _ in range(reports):
        receipt = new_receipt()
        receipts.append(receipt)
        draft = Draft(language="sw", group_id=group.id, category="land", urgent=False,
                      where="Kamituga", when="jana",
                      parts=[{"kind": "text", "value": "maelezo " * 50}])
        async with database.session() as session:
            await submit(session, cipher, draft, datetime.now(UTC), receipt)
    filed = time.perf_counter() - start
    start = time.perf_counter()
    async with database.session() as session:
        for n, receipt in enumerate(receipts):
            await case_by_receipt(session, cipher, MemoryCounters(), receipt, n,
                                  datetime.now(UTC))
    found = time.perf_counter() - start
    print(f"filing one report ({reports} runs)       {filed / reports * 1000:8.2f} ms")
    print(f"finding one by receipt ({reports} runs)  {found / reports * 1000:8.2f} ms")
    await database.dispose()


def main() -> None:
    cipher = ReportCipher(b"a" * 32)
    timed("receipt hash (Argon2id, 19 MiB)", 20, lambda: cipher.receipt_hash(new_receipt()))
    blob = cipher.encrypt({"text": "x" * 3500}, "content")
    timed("encrypt 3.5 kB (AES-256-GCM)", 2000, lambda: cipher.encrypt({"t": "x" * 3500}, "c"))
    timed("decrypt 3.5 kB", 2000, lambda: cipher.decrypt(blob, "content"))
    reports = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with tempfile.TemporaryDirectory() as folder:
        url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite+aiosqlite:///{folder}/bench.db"
        asyncio.run(database_figures(url, reports))


if __name__ == "__main__":
    main()
