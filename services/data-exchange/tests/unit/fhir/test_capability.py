from data_exchange.fhir.capability import capability_statement
from data_exchange.fhir.search import SEARCH_PARAMS, parse_search

BASE = "https://fhir.alliance.example/r4"


def _statement() -> dict:
    return capability_statement(BASE, software_version="0.1.0")


def test_the_statement_describes_an_active_r4_json_server_instance():
    cs = _statement()
    assert (cs["resourceType"], cs["status"], cs["kind"], cs["fhirVersion"]) == (
        "CapabilityStatement", "active", "instance", "4.0.1")
    assert "json" in cs["format"] and cs["date"]
    assert cs["software"]["version"] == "0.1.0" and cs["implementation"]["url"] == BASE


def test_the_server_requires_oauth_bearer_tokens_and_accepts_transactions():
    [rest] = _statement()["rest"]
    assert rest["mode"] == "server"
    assert rest["security"]["service"][0]["coding"][0]["code"] == "OAuth"
    assert "Bearer" in rest["security"]["description"]
    assert rest["interaction"] == [{"code": "transaction"}]


def test_each_resource_offers_read_create_and_search_with_the_parameters_search_accepts():
    resources = {r["type"]: r for r in _statement()["rest"][0]["resource"]}
    assert set(resources) == {"Patient", "Encounter", "Observation", "DiagnosticReport", "ServiceRequest"}
    for kind, resource in resources.items():
        assert [i["code"] for i in resource["interaction"]] == ["read", "create", "search-type"]
        params = {p["name"]: p["type"] for p in resource["searchParam"]}
        assert params == SEARCH_PARAMS[kind]
        for name in params:
            parse_search(kind, {name: ["2024" if params[name] == "date" else "x"]})
