"""Synthetic HL7 v2 messages for the tests (invented people and numbers, no real patient data).

A draft is a list of (segment name, {field number: raw value}); MSH fields start at MSH-3.
"""

from __future__ import annotations

from collections.abc import Iterable

Draft = list[tuple[str, dict[int, str]]]

NATIONAL_ID = "11010519491231002X"  # the GB 11643 worked example: well-formed, obviously synthetic
NAME_FAMILY, NAME_GIVEN = "张", "三丰"
RARE_NAME = "李億東"  # GBK-extension characters: "億" and "東" end in byte 0x7C ("|") in GB 18030


def msh(mtype: str = "ADT^A01^ADT_A01", control: str = "MSG00001", *,
        charset: str = "UNICODE UTF-8", version: str = "2.5.1", processing: str = "P",
        facility: str = "H001^^L", app: str = "HIS") -> tuple[str, dict[int, str]]:
    """An MSH draft segment."""
    return ("MSH", {3: app, 4: facility, 5: "ALLIANCE", 6: "HUB", 7: "20261123093000+0800",
                    9: mtype, 10: control, 11: processing, 12: version, 15: "AL", 16: "NE",
                    17: "CHN", 18: charset})


def pid(**over: str) -> tuple[str, dict[int, str]]:
    """A PID with MRN, national ID, insurance number, name, birth date, sex and phone."""
    fields = {
        1: "1",
        3: f"MRN000123^^^H001^MR~{NATIONAL_ID}^^^CHN^NNCHN~YB000000001^^^CHS^MI",
        5: f"{NAME_FAMILY}^{NAME_GIVEN}^^^^^L",
        7: "19491231",
        8: "M",
        11: "朝阳区示例路1号^^北京^^100000^CHN",
        13: "13800000000",
    }
    return ("PID", _apply(fields, over))


def pv1(**over: str) -> tuple[str, dict[int, str]]:
    """An inpatient PV1 with department, visit number and admit time."""
    fields = {1: "1", 2: "I", 3: "0301^12^03^H001^^^^^心内科", 19: "V20261123001",
              44: "20261120081500"}
    return ("PV1", _apply(fields, over))


def _apply(fields: dict[int, str], over: dict[str, str]) -> dict[int, str]:
    out = dict(fields)
    for key, value in over.items():
        out[int(key.lstrip("f"))] = value
    return out


def adt(event: str = "A01", **msh_kw: str) -> Draft:
    """ADT A01/A04/A08/A03: MSH EVN PID PV1 DG1 DG1 PR1 (+ FT1 charges in A03)."""
    structure = "ADT_A03" if event == "A03" else "ADT_A01"
    draft: Draft = [
        msh(f"ADT^{event}^{structure}", **msh_kw),
        ("EVN", {1: event, 2: "20261123093000"}),
        pid(),
        pv1(**({"f45": "20261123090000"} if event == "A03" else {})),
        ("DG1", {1: "1", 3: "I21.9^急性心肌梗死^ICD-10", 6: "A"}),
        ("DG1", {1: "2", 3: "I10.x00^高血压^ICD-10", 6: "F", 15: "2"}),
        ("DG1", {1: "3", 3: "I21.901^急性前壁心肌梗死^ICD-10", 6: "F"}),
        ("PR1", {1: "1", 3: "36.0601^冠状动脉药物洗脱支架置入术^ICD-9-CM-3", 5: "20261121103000"}),
    ]
    if event == "A03":
        draft += [
            ("FT1", {1: "1", 4: "20261121", 6: "CG", 7: "250101001^血常规^LOCAL", 10: "2",
                     11: "25.00&CNY"}),
            ("FT1", {1: "2", 4: "20261121", 6: "CG", 7: "330201001^支架^LOCAL", 10: "1",
                     11: "12345.67"}),
            ("FT1", {1: "3", 4: "20261122", 6: "CG", 7: "110900001^床位费^LOCAL", 10: "3",
                     11: "150.0000"}),
        ]
    return draft


LAB_ITEMS = [
    ("WBC", "白细胞计数", "6.52", "10*9/L", "3.5-9.5", "N"),
    ("RBC", "红细胞计数", "4.61", "10*12/L", "4.3-5.8", "N"),
    ("HGB", "血红蛋白", "128", "g/L", "130-175", "L"),
    ("PLT", "血小板计数", "231", "10*9/L", "125-350", "N"),
    ("NEUT%", "中性粒细胞百分比", "71.3", "%", "40-75", "N"),
    ("LYMPH%", "淋巴细胞百分比", "20.1", "%", "20-50", "N"),
    ("HCT", "红细胞压积", "0.38", "L/L", "0.40-0.50", "L"),
    ("MCV", "平均红细胞体积", "88.2", "fL", "82-100", "N"),
    ("CRP", "C反应蛋白", "12.4", "mg/L", "0-10", "H"),
    ("GLU", "葡萄糖", "6.1", "mmol/L", "3.9-6.1", "N"),
]


def oru(*, section: str = "HM", n_obx: int = 12, control: str = "MSG00002", **msh_kw: str) -> Draft:
    """ORU^R01 lab report: numeric results, a coded result and a text result with escapes."""
    draft: Draft = [
        msh("ORU^R01^ORU_R01", control, **msh_kw),
        pid(),
        pv1(**{"f2": "O"}),
        ("ORC", {1: "RE", 2: "PO2026112300001", 3: "FO2026112300001"}),
        ("OBR", {1: "1", 2: "PO2026112300001", 3: "FO2026112300001^LIS",
                 4: "CBC^血常规^LOCAL", 7: "20261123080000", 22: "20261123091500",
                 24: section, 25: "F"}),
    ]
    for i in range(1, n_obx + 1):
        if i == n_obx - 1:
            draft.append(("OBX", {1: str(i), 2: "CE", 3: "HBSAG^乙肝表面抗原^LOCAL",
                                  5: "NEG^阴性^LOCAL", 8: "N", 11: "F", 14: "20261123090000"}))
            continue
        if i == n_obx:
            draft.append(("OBX", {1: str(i), 2: "TX", 3: "COMMENT^备注^LOCAL",
                                  5: r"标本轻度溶血\.br\结果仅供参考 A\S\B \F\ 50\T\50 \E\n",
                                  11: "F"}))
            continue
        code, text, value, unit, rng, flag = LAB_ITEMS[(i - 1) % len(LAB_ITEMS)]
        draft.append(("OBX", {1: str(i), 2: "NM", 3: f"{code}^{text}^LOCAL", 5: value, 6: unit,
                              7: rng, 8: flag, 11: "F", 14: "20261123090000",
                              23: "示例检验中心^^^^^^^^^LAB01"}))
    draft.append(("NTE", {1: "1", 3: r"复核：王五\.br\电话 010\E\123"}))
    return draft


def imaging_oru() -> Draft:
    """ORU^R01 CT report with a TX finding and impression."""
    return [
        msh("ORU^R01^ORU_R01", "MSG00003"),
        pid(),
        ("OBR", {1: "1", 2: "PO2026112300009", 3: "CT2026112300001^PACS",
                 4: "CT001^胸部CT平扫^LOCAL", 7: "20261123101500", 24: "CT"}),
        ("OBX", {1: "1", 2: "TX", 3: "FINDING^检查所见^LOCAL",
                 5: r"双肺纹理清晰\.br\未见明显实质性病变", 11: "F"}),
        ("OBX", {1: "2", 2: "TX", 3: "IMPRESSION^诊断意见^LOCAL", 5: "胸部CT平扫未见明显异常",
                 11: "F"}),
    ]


def orm(mtype: str = "ORM^O01^ORM_O01") -> Draft:
    """ORM^O01 (or OML^O21) with two orders, the second with two items."""
    return [
        msh(mtype, "MSG00004"),
        pid(),
        pv1(),
        ("ORC", {1: "NW", 2: "PO2026112300001", 9: "20261123100000"}),
        ("OBR", {1: "1", 2: "PO2026112300001", 4: "CT001^胸部CT平扫^LOCAL"}),
        ("ORC", {1: "NW", 2: "PO2026112300002", 9: "20261123100500"}),
        ("OBR", {1: "2", 2: "PO2026112300002", 4: "CBC^血常规^LOCAL"}),
        ("OBR", {1: "3", 2: "PO2026112300002", 4: "CRP^C反应蛋白^LOCAL", 6: "20261123110000"}),
    ]


def render_segment(name: str, fields: dict[int, str]) -> str:
    """One draft segment as text."""
    if name == "MSH":
        top = max(fields, default=2)
        return "MSH|^~\\&|" + "|".join(fields.get(i, "") for i in range(3, top + 1))
    top = max(fields, default=0)
    return "|".join([name, *(fields.get(i, "") for i in range(1, top + 1))])


def render(draft: Iterable[tuple[str, dict[int, str]]], encoding: str = "utf-8",
           sep: str = "\r") -> bytes:
    """A draft as message bytes."""
    return (sep.join(render_segment(n, f) for n, f in draft) + sep).encode(encoding)


def setf(draft: Draft, name: str, field: int, value: str, occurrence: int = 1) -> Draft:
    """A copy of the draft with one field replaced (the segment must exist)."""
    out: Draft = []
    seen = 0
    for seg_name, fields in draft:
        if seg_name == name:
            seen += 1
            if seen == occurrence:
                fields = {**fields, field: value}
        out.append((seg_name, dict(fields)))
    assert seen >= occurrence, f"{name} #{occurrence} not in draft"
    return out


def drop(draft: Draft, name: str) -> Draft:
    """A copy of the draft without any segment called `name`."""
    return [(n, dict(f)) for n, f in draft if n != name]
