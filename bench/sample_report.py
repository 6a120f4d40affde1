"""Render a sample monthly security status report (the benchmark's group: 5 years of history,
200 members, 2,000 concern reports) to a PDF, and its first two pages, side by side, to a PNG
image for the README.

    .venv/bin/python bench/sample_report.py [OUTPUT_DIR]   # default: docs/

Writes monthly-report-sample.pdf and monthly-report.png (pages rendered by pypdfium2).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pypdfium2  # noqa: E402
from PIL import Image  # noqa: E402

from bench.monthly import NOW, populate  # noqa: E402
from bot.services import monthly  # noqa: E402
from bot.services.monthly_render import monthly_pdf  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import WorkingGroup  # noqa: E402

PAGES = 2


async def sample_pdf() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{folder}/sample.db")
        await upgrade(database)
        group_id = await populate(database)
        async with database.session() as session:
            group = await session.get(WorkingGroup, group_id)
            group.name = "South Kivu working group"
            report = await monthly.build_report(session, group, date(2026, 11, 1), NOW)
        await database.dispose()
    return monthly_pdf(report, "en")


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    data = asyncio.run(sample_pdf())
    (output / "monthly-report-sample.pdf").write_bytes(data)
    document = pypdfium2.PdfDocument(data)
    pages = [document[i].render(scale=1.2).to_pil() for i in range(min(PAGES, len(document)))]
    gap = 16
    sheet = Image.new("RGB", (sum(p.width for p in pages) + gap * (len(pages) + 1),
                              max(p.height for p in pages) + 2 * gap), "#d0d0d0")
    x = gap
    for page in pages:
        sheet.paste(page, (x, gap))
        x += page.width + gap
    sheet.save(output / "monthly-report.png", optimize=True)
    print(output / "monthly-report.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
