"""Whose result is it after a patient unmerge: the rules, apart from storage and events.

A merge in data-exchange moves every (hospital, MRN) of the absorbed patient to the survivor; an unmerge
gives back exactly those MRNs. Results follow: while merged, results of the absorbed person live on the
survivor. On the unmerge each result now on the survivor goes back, stays, or (when nothing tells whose it
is) is withheld from recognition: offering one person's CT to another is worse than a repeated test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

Link = tuple[str, str]          # (hospital_id, mrn)


class Placement(Enum):
    RESTORE = "restore"         # back to the restored patient
    KEEP = "keep"               # stays with the survivor
    WITHHOLD = "withhold"       # cannot be attributed: never offered for recognition


class Provenance(Enum):
    """What this service saw of a result on the survivor, relative to the merge being undone."""

    MOVED = "moved"             # the merge moved it from the restored patient (or it came late for them)
    ARRIVED = "arrived"         # recorded for the survivor while merged, without the MRN it came under
    OWN = "own"                 # the survivor's before the merge (or a result of another merge)
    UNKNOWN = "unknown"         # the merge predates this service's merge tracking


@dataclass(frozen=True)
class ResultOrigin:
    result_id: str
    hospital_id: str
    mrn: str | None             # the hospital MRN it was recorded under, when the producer said
    provenance: Provenance


def place(origin: ResultOrigin, restored: frozenset[Link] | None) -> Placement:
    """Where one result on the survivor goes; `restored` is None when the event did not list the MRNs."""
    if origin.provenance is Provenance.MOVED:
        return Placement.RESTORE
    if restored is not None and origin.mrn:
        return Placement.RESTORE if (origin.hospital_id, origin.mrn) in restored else Placement.KEEP
    if origin.provenance is Provenance.OWN:
        return Placement.KEEP    # recorded for the survivor before the merge: under one of its own MRNs
    if restored is not None and origin.hospital_id not in {hospital for hospital, _ in restored}:
        return Placement.KEEP    # no restored MRN belongs to the hospital that issued it
    return Placement.WITHHOLD


def split(origins: Iterable[ResultOrigin], restored: frozenset[Link] | None) -> dict[Placement, list[str]]:
    """Result ids per placement (every placement present, ids in a stable order)."""
    out: dict[Placement, list[str]] = {p: [] for p in Placement}
    for origin in sorted(origins, key=lambda o: o.result_id):
        out[place(origin, restored)].append(origin.result_id)
    return out
