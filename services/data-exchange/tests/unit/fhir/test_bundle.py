import fhir_samples as s
import pytest

from data_exchange.domain.clinical import (
    EncounterKind,
    EncounterRecord,
    PatientRecord,
    ResultReport,
)
from data_exchange.fhir.bundle import (
    BundleError,
    entry_lookup,
    parse_transaction,
    rewrite_references,
    transaction_records,
)
from data_exchange.fhir.validation import validate


def _errors(bundle) -> set[tuple[str, str]]:
    return {(i.code, i.location) for i in validate(bundle) if i.severity == "error"}


def test_a_transaction_lists_its_entries_with_method_url_and_client_ids():
    entries = parse_transaction(s.liver_panel_transaction())
    assert [(e.index, e.method, e.url, e.resource_type, e.resource_id) for e in entries] == [
        (0, "PUT", "Patient/pat-0012345", "Patient", "pat-0012345"),
        (1, "POST", "Encounter", "Encounter", None),
        (2, "POST", "DiagnosticReport", "DiagnosticReport", None),
        (3, "POST", "Observation", "Observation", None),
        (4, "POST", "Observation", "Observation", None),
        (5, "POST", "Observation", "Observation", None),
    ]
    assert entries[0].full_url == s.UUID_PATIENT and entries[2].path == "Bundle.entry[2].resource"


def test_a_transaction_maps_to_a_patient_an_admission_and_one_report_with_three_results():
    mapped, issues = transaction_records(parse_transaction(s.liver_panel_transaction()), sending_facility="H002")
    assert issues == []
    assert [type(r) for m in mapped for r in m.records] == [PatientRecord, EncounterRecord, ResultReport]
    patient, encounter, report = (r for m in mapped for r in m.records)
    assert encounter.kind == EncounterKind.ADMITTED and encounter.patient == patient.patient
    assert report.patient.name == "张建国" and report.patient.national_id == "330122196503121232"
    assert [(o.sequence, o.item.code, o.value, o.unit) for o in report.observations] == [
        (1, "ALT", "56", "U/L"), (2, "AST", "38", "U/L"), (3, "TBIL", "15.2", "umol/L")]
    assert [(m.entry.index, m.part_of) for m in mapped if m.part_of is not None] == [(3, 2), (4, 2), (5, 2)]


def test_an_observation_entry_not_in_a_report_is_its_own_report():
    bundle = s.liver_panel_transaction()
    bundle["entry"][2]["resource"]["result"].pop()
    bundle["entry"][5]["resource"]["identifier"] = [{"value": "LIS20241105-0021"}]
    mapped, issues = transaction_records(parse_transaction(bundle), sending_facility="H002")
    assert issues == []
    assert [len(m.records) for m in mapped] == [1, 1, 1, 0, 0, 1]
    assert mapped[5].records[0].report_id == "LIS20241105-0021"


def test_mapping_issues_of_an_entry_carry_the_entry_path():
    bundle = s.liver_panel_transaction()
    bundle["entry"][1]["resource"]["subject"] = {"reference": "Patient/elsewhere"}
    mapped, issues = transaction_records(parse_transaction(bundle), sending_facility="H002")
    assert [(i.code, i.location) for i in issues] == [("required", "Bundle.entry[1].resource.subject")]
    assert mapped[1].records == ()


def test_references_fall_back_to_the_store_lookup():
    bundle = s.liver_panel_transaction()
    del bundle["entry"][0]
    lookup = entry_lookup(parse_transaction({**bundle, "entry": bundle["entry"][1:]}),
                          fallback={s.UUID_PATIENT: s.patient()}.get)
    assert lookup(s.UUID_PATIENT)["resourceType"] == "Patient"
    assert lookup("Patient/nobody") is None


def test_put_entries_resolve_by_type_and_id():
    lookup = entry_lookup(parse_transaction(s.liver_panel_transaction()))
    assert lookup("Patient/pat-0012345")["id"] == "pat-0012345"


def test_references_are_rewritten_to_server_ids_without_touching_the_original():
    report = s.liver_panel_transaction()["entry"][2]["resource"]
    ids = {s.UUID_PATIENT: "Patient/pat-0012345", s.UUID_OBSERVATIONS[0]: "Observation/101"}
    rewritten = rewrite_references(report, ids)
    assert rewritten["subject"] == {"reference": "Patient/pat-0012345"}
    assert rewritten["result"][0] == {"reference": "Observation/101"}
    assert rewritten["result"][1] == {"reference": s.UUID_OBSERVATIONS[1]}
    assert report["subject"] == {"reference": s.UUID_PATIENT}


def _entry(bundle, i):
    return bundle["entry"][i]


BUNDLE_CASES = [
    (lambda b: b.update(type="batch"), "not-supported", "Bundle.type"),
    (lambda b: b.update(type="bag"), "code-invalid", "Bundle.type"),
    (lambda b: b.pop("type"), "required", "Bundle.type"),
    (lambda b: b.update(entry=[]), "required", "Bundle.entry"),
    (lambda b: b.update(entry={}), "structure", "Bundle.entry"),
    (lambda b: _entry(b, 0)["request"].update(method="DELETE"), "not-supported", "Bundle.entry[0].request.method"),
    (lambda b: _entry(b, 0)["request"].update(method="FETCH"), "code-invalid", "Bundle.entry[0].request.method"),
    (lambda b: _entry(b, 0).pop("request"), "required", "Bundle.entry[0].request"),
    (lambda b: _entry(b, 0)["request"].pop("url"), "required", "Bundle.entry[0].request.url"),
    (lambda b: _entry(b, 1)["request"].update(url="Observation"), "invariant", "Bundle.entry[1].request.url"),
    (lambda b: _entry(b, 0)["request"].update(url="Patient/other"), "invariant", "Bundle.entry[0].request.url"),
    (lambda b: _entry(b, 0)["request"].update(url="Patient?identifier=0012345"), "not-supported",
     "Bundle.entry[0].request.url"),
    (lambda b: _entry(b, 4).update(fullUrl=s.UUID_OBSERVATIONS[0]), "invariant", "Bundle.entry[4].fullUrl"),
    (lambda b: _entry(b, 4).update(fullUrl="obs-2"), "value", "Bundle.entry[4].fullUrl"),
    (lambda b: _entry(b, 2)["resource"]["result"][0].update(
        reference="urn:uuid:00000000-0000-4000-8000-000000000000"), "invariant",
     "Bundle.entry[2].resource.result[0].reference"),
    (lambda b: _entry(b, 2)["resource"]["result"][0].update(reference=s.UUID_PATIENT), "invariant",
     "Bundle.entry[2].resource.result[0].reference"),
    (lambda b: _entry(b, 3)["resource"].update(basedOn=[{"reference": "urn:uuid:nope"}]), "value",
     "Bundle.entry[3].resource.basedOn[0].reference"),
    (lambda b: _entry(b, 1)["resource"].update(partOf={"reference": "urn:uuid:00000000-0000-4000-8000-00000000000f"}),
     "invariant", "Bundle.entry[1].resource.partOf.reference"),
    (lambda b: _entry(b, 0).update(resource={"resourceType": "Bundle", "type": "transaction"}), "not-supported",
     "Bundle.entry[0].resource.resourceType"),
    (lambda b: _entry(b, 0).pop("resource"), "required", "Bundle.entry[0].resource"),
    (lambda b: _entry(b, 3)["resource"].pop("status"), "required", "Bundle.entry[3].resource.status"),
    (lambda b: _entry(b, 0).update(modifierExtension=[{"url": "x"}]), "not-supported",
     "Bundle.entry[0].modifierExtension"),
]


@pytest.mark.parametrize("change, code, location", BUNDLE_CASES, ids=[f"{loc}-{c}" for _, c, loc in BUNDLE_CASES])
def test_each_bundle_violation_is_reported_at_its_fhirpath(change, code, location):
    bundle = s.liver_panel_transaction()
    change(bundle)
    assert (code, location) in _errors(bundle)


def test_parsing_a_bundle_that_is_not_a_transaction_raises_with_the_issues():
    bundle = s.liver_panel_transaction()
    bundle["type"] = "batch"
    with pytest.raises(BundleError) as err:
        parse_transaction(bundle)
    assert [(i.code, i.location) for i in err.value.issues] == [("not-supported", "Bundle.type")]
    with pytest.raises(BundleError):
        parse_transaction(s.patient())
    with pytest.raises(BundleError):
        parse_transaction([])


def test_parsing_checks_only_the_bundle_level_leaving_resources_to_validate():
    bundle = s.liver_panel_transaction()
    bundle["entry"][3]["resource"].pop("status")
    assert len(parse_transaction(bundle)) == 6
