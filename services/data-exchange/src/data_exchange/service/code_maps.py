"""Code-map use cases: entries and CSV import; every change re-publishes what it completes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from alliance_service import UnitOfWork

from ..adapters import code_maps
from ..domain.code_mapping import CodeKind, InvalidMapping, MapEntry
from .ingest import republish_held

CSV_COLUMNS = ("kind", "local_code", "alliance_code", "display")
CHUNK = 1000


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    republished: int = 0
    errors: list[dict] = field(default_factory=list)
    progress: list[dict] = field(default_factory=list)


async def save_entries(uow: UnitOfWork, hospital_id: str, entries: list[MapEntry]) -> int:
    """Save validated entries and publish held records they complete, in one transaction."""
    async with uow:
        await code_maps.save_entries(uow.conn, hospital_id, entries)
        republished = await republish_held(uow.conn, uow.events, hospital_id)
        await uow.commit()
        return republished


def parse_csv_rows(text: str) -> tuple[list[tuple[int, MapEntry]], list[dict]]:
    """Rows of `kind,local_code,alliance_code,display` (header required) → entries and row errors.

    A row is numbered by the line it ends on; CR, LF and CRLF all end lines, quoted line breaks stay in the field;
    malformed CSV and a second row for one (kind, local_code) are row errors.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        return [], [{"row": 1, "error": f"malformed CSV: {exc}"}]
    missing = [c for c in CSV_COLUMNS[:3] if c not in fieldnames]
    if missing:
        return [], [{"row": 1, "error": f"missing column(s): {', '.join(missing)}"}]
    entries, errors, first_line = [], [], {}
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append({"row": reader.line_num + 1, "error": f"malformed CSV: {exc}"})
            break
        n = reader.line_num
        try:
            kind = CodeKind((row.get("kind") or "").strip())
        except ValueError:
            errors.append({"row": n, "error": f"kind must be one of {', '.join(CodeKind)}"})
            continue
        try:
            entry = MapEntry(kind, (row.get("local_code") or "").strip(), (row.get("alliance_code") or "").strip(),
                             (row.get("display") or "").strip()).validated()
        except InvalidMapping as exc:
            errors.append({"row": n, "error": str(exc)})
            continue
        key = (entry.kind, entry.local_code)
        if key in first_line:
            errors.append({"row": n, "error": f"duplicate of row {first_line[key]} ({kind.value} {entry.local_code})"})
            continue
        first_line[key] = n
        entries.append((n, entry))
    return entries, errors


async def import_csv(make_uow, hospital_id: str, text: str) -> ImportReport:
    """Import valid rows in chunks (one transaction each), reporting invalid rows by number."""
    entries, errors = parse_csv_rows(text)
    report = ImportReport(rows=len(entries) + len(errors), errors=errors)
    for start in range(0, len(entries), CHUNK):
        chunk = [e for _, e in entries[start:start + CHUNK]]
        report.republished += await save_entries(make_uow(), hospital_id, chunk)
        report.imported += len(chunk)
        report.progress.append({"rows_done": min(start + CHUNK, len(entries)), "rows_total": len(entries)})
    return report
