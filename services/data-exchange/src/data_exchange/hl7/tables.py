"""HL7 tables and alliance code sets used by the mapping."""

from __future__ import annotations

from data_exchange.domain.clinical import Sex

SEX_0001: dict[str, Sex] = {
    "M": Sex.MALE, "F": Sex.FEMALE, "O": Sex.OTHER, "A": Sex.OTHER,
    "U": Sex.UNKNOWN, "N": Sex.UNKNOWN,
}
SEX_GB_T_2261: dict[str, Sex] = {"1": Sex.MALE, "2": Sex.FEMALE, "0": Sex.UNKNOWN, "9": Sex.UNKNOWN}

NATIONAL_ID_TYPES = frozenset({"NI", "NNCHN", "RRI"})
INSURANCE_ID_TYPES = frozenset({"MI", "SN"})

PATIENT_CLASS_0004 = frozenset({"E", "I", "O", "P", "R", "B", "C", "N", "U"})
DIAGNOSIS_TYPE_0052 = frozenset({"A", "W", "F"})
RESULT_STATUS_0085 = frozenset({"C", "D", "F", "I", "N", "O", "P", "R", "S", "U", "W", "X"})
ABNORMAL_FLAGS_0078 = frozenset({
    "L", "H", "LL", "HH", "<", ">", "N", "A", "AA", "U", "D", "B", "W", "S", "R", "I", "MS",
    "VS", "NEG", "POS", "DET", "IND", "ND", "RR", "TOX", "NR", "LU", "HU", "QCF", "IE",
    "SYN-R", "SYN-S", "AC", "CAR", "EX", "HX", "LX",
})
ORDER_CONTROL_0119 = frozenset({
    "NW", "OK", "UA", "CA", "OC", "CR", "UC", "DC", "OD", "DR", "UD", "HD", "OH", "HR", "UH",
    "RL", "OE", "OR", "UR", "RP", "RU", "RO", "RQ", "UM", "PA", "CH", "XO", "XX", "UX", "XR",
    "DE", "RE", "RR", "SR", "SS", "SC", "SN", "NA", "CN", "RF", "AF", "DF", "OF", "UF", "LI",
    "UN", "PR", "PY", "PP",
})
VALUE_TYPES_0125 = frozenset({
    "AD", "CE", "CF", "CK", "CN", "CNE", "CP", "CWE", "CX", "DR", "DT", "DTM", "ED", "FT", "ID",
    "IS", "MA", "MO", "NA", "NM", "PN", "RP", "SN", "ST", "TM", "TN", "TS", "TX", "XAD", "XCN",
    "XON", "XPN", "XTN",
})
CODED_TYPES = frozenset({"CE", "CWE", "CNE", "CF"})

# OBR-24 (table 0074 plus the DICOM modality codes Chinese PACS commonly send) meaning imaging.
IMAGING_SECTIONS = frozenset({
    "RAD", "CT", "MR", "MRI", "NMR", "NMS", "US", "RUS", "OUS", "CUS", "VUS", "RX", "XRC",
    "DX", "CR", "DR", "MG", "XA", "RF", "PET", "NM", "IMG",
})
CURRENCIES = frozenset({"CNY", "RMB"})

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_resident_id(value: str) -> bool:
    """GB 11643-1999 format and check digit (18 characters) or the old 15-digit form."""
    if len(value) == 15:
        return value.isascii() and value.isdigit()
    if len(value) != 18 or not (value[:17].isascii() and value[:17].isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return value[17].upper() == _ID_CHECK[total % 11]
