"""Synthetic FHIR R4 resources of a county hospital (H002) in the alliance profile; fresh copies per call."""

from __future__ import annotations

from decimal import Decimal

HOSPITAL = "H002"
MRN = "https://alliance.example/fhir/sid/mrn/H002"
ITEMS = "https://alliance.example/fhir/CodeSystem/local/H002/items"
NATIONAL_ID = "urn:oid:2.16.156.10011.1.1"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
COST_LINE = "https://alliance.example/fhir/StructureDefinition/cost-line"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
SUBJECT = {"identifier": {"system": MRN, "value": "0012345"}}

UUID_PATIENT = "urn:uuid:6f1c2a52-7c1e-4b7e-9a35-0c3f1d9e8a01"
UUID_ENCOUNTER = "urn:uuid:6f1c2a52-7c1e-4b7e-9a35-0c3f1d9e8a02"
UUID_REPORT = "urn:uuid:6f1c2a52-7c1e-4b7e-9a35-0c3f1d9e8a03"
UUID_OBSERVATIONS = [f"urn:uuid:6f1c2a52-7c1e-4b7e-9a35-0c3f1d9e8b0{i}" for i in (1, 2, 3)]


def patient() -> dict:
    """张建国, male, born 1965-03-12, MRN 0012345 at H002."""
    return {
        "resourceType": "Patient",
        "id": "pat-0012345",
        "identifier": [
            {"use": "usual", "system": MRN, "value": "0012345"},
            {"system": NATIONAL_ID, "value": "330122196503121232"},
            {"system": "https://alliance.example/fhir/sid/insurance", "value": "ZJ330122000012345"},
            {"system": "https://alliance.example/fhir/sid/mrn/H001", "value": "A9988"},
        ],
        "name": [{"use": "official", "family": "张", "given": ["建国"]}],
        "gender": "male",
        "birthDate": "1965-03-12",
        "telecom": [{"system": "phone", "value": "0571-00000001", "use": "home"},
                    {"system": "phone", "value": "13900000001", "use": "mobile"}],
        "address": [{"text": "浙江省杭州市桐庐县示例路1号"}],
    }


def _coding(code: str, display: str, system: str = ITEMS) -> dict:
    return {"system": system, "code": code, "display": display}


def glucose() -> dict:
    """A standalone fasting glucose result, 7.8 mmol/L, high."""
    return {
        "resourceType": "Observation",
        "id": "obs-glu-20241105",
        "identifier": [{"system": "https://alliance.example/fhir/sid/lis/H002", "value": "LIS20241105-0007"}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {"coding": [_coding("GLU", "空腹血糖"),
                            _coding("14749-6", "Glucose [Moles/volume] in Serum or Plasma", LOINC)],
                 "text": "空腹血糖"},
        "subject": dict(SUBJECT),
        "effectiveDateTime": "2024-11-05T07:30:00+08:00",
        "issued": "2024-11-05T09:02:11.250+08:00",
        "valueQuantity": {"value": Decimal("7.8"), "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "H"}]}],
        "referenceRange": [{"low": {"value": Decimal("3.9"), "unit": "mmol/L"},
                            "high": {"value": Decimal("6.1"), "unit": "mmol/L"}}],
        "basedOn": [{"identifier": {"system": "https://alliance.example/fhir/sid/order/H002",
                                    "value": "SQ20241105003"}}],
    }


def _line(ident: str, code: str, display: str, value: Decimal, unit: str, flag: str | None = None) -> dict:
    obs = {"resourceType": "Observation", "id": ident, "status": "final",
           "code": {"coding": [_coding(code, display)]},
           "valueQuantity": {"value": value, "unit": unit}}
    if flag:
        obs["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag}]}]
    return obs


def blood_count() -> dict:
    """A complete blood count report with three contained result Observations."""
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr-cbc-20241105",
        "contained": [
            _line("wbc", "WBC", "白细胞计数", Decimal("12.5"), "10*9/L", "H"),
            _line("hgb", "HGB", "血红蛋白", Decimal("135"), "g/L"),
            _line("plt", "PLT", "血小板计数", Decimal("210"), "10*9/L"),
        ],
        "identifier": [{"system": "https://alliance.example/fhir/sid/lis/H002", "value": "LIS20241105-0012"}],
        "basedOn": [{"identifier": {"value": "SQ20241105002"}}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "HM"}]}],
        "code": {"coding": [_coding("CBC", "血常规"),
                            _coding("58410-2", "CBC panel - Blood by Automated count", LOINC)]},
        "subject": dict(SUBJECT),
        "effectiveDateTime": "2024-11-05T08:10:00+08:00",
        "issued": "2024-11-05T09:40:00+08:00",
        "result": [{"reference": "#wbc"}, {"reference": "#hgb"}, {"reference": "#plt"}],
    }


def chest_ct() -> dict:
    """A chest CT report: one contained finding Observation as text; category RAD."""
    finding = {"resourceType": "Observation", "id": "finding", "status": "final",
               "code": {"coding": [_coding("CT-CHEST-F", "胸部CT所见")]},
               "valueString": "右肺下叶见磨玻璃结节，直径约6mm，边界清。"}
    return {
        "resourceType": "DiagnosticReport",
        "contained": [finding],
        "identifier": [{"value": "PACS-CT-20241106-0031"}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}],
        "code": {"coding": [_coding("CT-CHEST", "胸部CT平扫")]},
        "subject": dict(SUBJECT),
        "effectiveDateTime": "2024-11-06T14:05:00+08:00",
        "result": [{"reference": "#finding"}],
        "conclusion": "右肺下叶磨玻璃结节，建议随访。",
    }


def _cost(code: str, display: str, amount: Decimal, quantity: int | None = None) -> dict:
    parts = [{"url": "item", "valueCoding": _coding(code, display)},
             {"url": "amount", "valueMoney": {"value": amount, "currency": "CNY"}}]
    if quantity is not None:
        parts.append({"url": "quantity", "valueInteger": quantity})
    return {"url": COST_LINE, "extension": parts}


def inpatient_stay() -> dict:
    """A finished cardiology stay: STEMI (principal) and type 2 diabetes, a stent procedure, three charges."""
    return {
        "resourceType": "Encounter",
        "id": "enc-zy202411050012",
        "contained": [
            {"resourceType": "Condition", "id": "dx-ami",
             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "I21.000",
                                  "display": "急性前壁心肌梗死"}]}},
            {"resourceType": "Condition", "id": "dx-dm",
             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.900",
                                  "display": "2型糖尿病"}]}},
            {"resourceType": "Procedure", "id": "px-stent", "status": "completed",
             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "36.07",
                                  "display": "冠状动脉药物洗脱支架置入术"}]},
             "performedDateTime": "2024-11-05T11:40:00+08:00"},
        ],
        "extension": [
            _cost("Y0001", "阿司匹林肠溶片", Decimal("12.60"), 30),
            _cost("C0101", "普通病房床位费", Decimal("350.00"), 7),
            _cost("S3607", "冠状动脉支架置入术", Decimal("8650.5")),
        ],
        "identifier": [{"system": "https://alliance.example/fhir/sid/visit/H002", "value": "ZY202411050012"}],
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "serviceType": {"coding": [_coding("0301", "心血管内科")]},
        "subject": dict(SUBJECT),
        "period": {"start": "2024-11-05T09:12:00+08:00", "end": "2024-11-12T10:00:00+08:00"},
        "diagnosis": [
            {"condition": {"reference": "#dx-ami"}, "use": {"coding": [{"system": ROLE, "code": "AD"}]},
             "rank": 1},
            {"condition": {"reference": "#dx-ami"}, "use": {"coding": [{"system": ROLE, "code": "DD"}]},
             "rank": 1},
            {"condition": {"reference": "#dx-dm"}, "use": {"coding": [{"system": ROLE, "code": "DD"}]},
             "rank": 2},
            {"condition": {"reference": "#px-stent"}},
        ],
    }


def emergency_visit() -> dict:
    """An emergency visit in progress, started on a bare date."""
    return {
        "resourceType": "Encounter",
        "identifier": [{"value": "JZ20241107-0088"}],
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "EMER"},
        "subject": dict(SUBJECT),
        "period": {"start": "2024-11-07"},
    }


def ct_order() -> dict:
    """A chest CT order placed during the stay."""
    return {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "https://alliance.example/fhir/sid/order/H002", "value": "SQ20241106001"}],
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "code": {"coding": [_coding("CT-CHEST", "胸部CT平扫")]},
        "subject": dict(SUBJECT),
        "encounter": {"identifier": {"value": "ZY202411050012"}},
        "authoredOn": "2024-11-06T10:20:00+08:00",
    }


def liver_panel_transaction() -> dict:
    """Patient + admission + liver function report with three result Observations, linked by urn:uuid."""
    def obs(i: int, code: str, display: str, value: Decimal, unit: str) -> dict:
        return {"fullUrl": UUID_OBSERVATIONS[i], "request": {"method": "POST", "url": "Observation"},
                "resource": {"resourceType": "Observation", "status": "final",
                             "code": {"coding": [_coding(code, display)]},
                             "subject": {"reference": UUID_PATIENT},
                             "effectiveDateTime": "2024-11-05T07:45:00+08:00",
                             "valueQuantity": {"value": value, "unit": unit}}}

    encounter = inpatient_stay()
    encounter.pop("id")
    encounter["subject"] = {"reference": UUID_PATIENT}
    encounter["status"] = "in-progress"
    encounter["period"] = {"start": "2024-11-05T09:12:00+08:00"}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": UUID_PATIENT, "resource": patient(),
             "request": {"method": "PUT", "url": "Patient/pat-0012345"}},
            {"fullUrl": UUID_ENCOUNTER, "resource": encounter, "request": {"method": "POST", "url": "Encounter"}},
            {"fullUrl": UUID_REPORT, "request": {"method": "POST", "url": "DiagnosticReport"},
             "resource": {
                 "resourceType": "DiagnosticReport", "status": "final",
                 "identifier": [{"value": "LIS20241105-0020"}],
                 "code": {"coding": [_coding("LFT", "肝功能")]},
                 "subject": {"reference": UUID_PATIENT},
                 "effectiveDateTime": "2024-11-05T07:45:00+08:00",
                 "result": [{"reference": u} for u in UUID_OBSERVATIONS]}},
            obs(0, "ALT", "丙氨酸氨基转移酶", Decimal("56"), "U/L"),
            obs(1, "AST", "天门冬氨酸氨基转移酶", Decimal("38"), "U/L"),
            obs(2, "TBIL", "总胆红素", Decimal("15.2"), "umol/L"),
        ],
    }
