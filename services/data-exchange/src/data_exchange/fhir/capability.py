"""The server's R4 CapabilityStatement (GET /metadata)."""

from __future__ import annotations

from .search import SEARCH_PARAMS

FHIR_VERSION = "4.0.1"
PUBLISHED = "2026-11-23"
SOFTWARE = "Alliance data exchange"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
_DOCS = {
    "Patient": "Demographics; needs an MRN identifier of the sending hospital. One Patient per hospital + MRN "
               "(HL7 v2 PIDs give it too; a create of a known MRN updates it). Carries the alliance patient id "
               "as identifier https://alliance.example/fhir/sid/alliance-patient.",
    "Encounter": "Visits and stays with contained diagnoses/procedures and cost-line extensions.",
    "Observation": "Laboratory and imaging results.",
    "DiagnosticReport": "Reports with contained or referenced result Observations.",
    "ServiceRequest": "Laboratory and imaging orders.",
}


def capability_statement(base_url: str, *, software_version: str, date: str = PUBLISHED) -> dict:
    """The CapabilityStatement of the FHIR endpoint at `base_url`."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Cross-regional hospital alliance",
        "kind": "instance",
        "software": {"name": SOFTWARE, "version": software_version},
        "implementation": {"description": "Alliance FHIR R4 ingest and query endpoint", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "OAuth", "display": "OAuth"}]}],
                "description": "OAuth 2.0 bearer token in the Authorization header (Bearer <token>).",
            },
            "resource": [_resource(kind, params) for kind, params in SEARCH_PARAMS.items()],
            "interaction": [{"code": "transaction"}],
        }],
    }


def _resource(kind: str, params: dict[str, str]) -> dict:
    return {
        "type": kind,
        "documentation": _DOCS[kind],
        "interaction": [{"code": "read"}, {"code": "create"}, {"code": "search-type"}],
        "searchParam": [{"name": name, "type": kind_of} for name, kind_of in params.items()],
    }
