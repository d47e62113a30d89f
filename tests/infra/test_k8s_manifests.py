"""The Kubernetes manifests (infra/k8s) start: they render, use the operators' current APIs and one Kafka version,
set every setting a service needs in production, mount every file a setting names, and let only the paths the
architecture draws through their NetworkPolicies; the console is deployed behind a TLS Ingress."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
K8S = INFRA / "k8s"

# service -> (env prefix, HTTP port, gRPC port): what the services' settings and the architecture say.
SERVICES = {
    "data-exchange": ("DATA_EXCHANGE_", 8081, 9081),
    "referral": ("REFERRAL_", 8082, 9082),
    "procurement": ("PROCUREMENT_", 8083, 9083),
    "cost-sharing": ("COST_SHARING_", 8084, 9084),
    "results-mutual-recognition": ("RESULTS_MUTUAL_RECOGNITION_", 8085, 9085),
}
# gRPC questions (docs/architecture.md, "Who talks to whom"): caller -> callee.
GRPC_PATHS = {("referral", "data-exchange"), ("referral", "results-mutual-recognition"),
              ("results-mutual-recognition", "data-exchange"), ("cost-sharing", "procurement")}


def load_yaml_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _kustomize(directory: Path) -> list[dict]:
    """The resources a kustomization lists, recursively, with its generated ConfigMaps (without the hash)."""
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for res in k.get("resources", []):
        target = directory / res
        docs += _kustomize(target) if target.is_dir() else load_yaml_docs(target)
    for gen in k.get("configMapGenerator", []):
        data = {}
        for spec in gen.get("files", []):
            key, _, path = spec.partition("=") if "=" in spec else (Path(spec).name, "", spec)
            data[key] = (directory / path).read_text()
        labels = gen.get("options", {}).get("labels", {})
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"], "labels": labels},
                     "data": data})
    if "namespace" in k:
        for d in docs:
            if d["kind"] != "Namespace":
                d.setdefault("metadata", {})["namespace"] = k["namespace"]
    return docs


def rendered() -> list[dict]:
    return _kustomize(K8S)


def kubectl_kustomize() -> list[dict] | None:
    """`kubectl kustomize infra/k8s` when kubectl is installed (None otherwise)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d is not None]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


DOCS = rendered()
DEPLOYMENTS = by_kind(DOCS, "Deployment")
CONFIGMAPS = by_kind(DOCS, "ConfigMap")
POLICIES = list(by_kind(DOCS, "NetworkPolicy").values())


def _container(deployment: str) -> dict:
    return DEPLOYMENTS[deployment]["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict) -> dict[str, str]:
    """A container's environment as the pod sees it: ConfigMap keys resolved, Secret keys as placeholders,
    variables the command exports (`export X=...`) included."""
    env: dict[str, str] = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif ref := e.get("valueFrom", {}).get("configMapKeyRef"):
            env[e["name"]] = CONFIGMAPS[ref["name"]]["data"][ref["key"]]
        elif ref := e.get("valueFrom", {}).get("secretKeyRef"):
            env[e["name"]] = f"secret-{ref['name']}-{ref['key']}-" + "x" * 32
    for name in re.findall(r"export (\w+)=", " ".join(container.get("command", []))):
        env[name] = "postgresql+asyncpg://app:secret@pg-rw:5432/app"
    return env


def test_every_manifest_parses_and_names_itself():
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 15
    for path in files:
        for doc in load_yaml_docs(path):
            assert doc.get("apiVersion") and doc.get("kind"), path
            assert doc["kind"] in ("Kustomization", "Component") or doc["metadata"].get("name"), path


def test_kubectl_renders_the_same_resources():
    docs = kubectl_kustomize()
    if docs is None:
        return      # no kubectl here: the renderer above stands in for it
    names = {(d["kind"], re.sub(r"-[a-z0-9]{10}$", "", d["metadata"]["name"])) for d in docs}
    assert names == {(d["kind"], d["metadata"]["name"]) for d in DOCS}
    cost_sharing = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "cost-sharing")
    [volume] = [v for v in cost_sharing["spec"]["template"]["spec"]["volumes"] if v["name"] == "ledger-public-keys"]
    assert volume["configMap"]["name"].startswith("cost-sharing-ledger-public-keys-")   # the hashed name


def test_operators_get_the_apis_they_serve_and_kafka_runs_kraft_node_pools():
    strimzi = [d for d in DOCS if d["apiVersion"].startswith("kafka.strimzi.io/")]
    cnpg = [d for d in DOCS if d["apiVersion"].startswith("postgresql.cnpg.io/")]
    assert {d["apiVersion"] for d in strimzi} == {"kafka.strimzi.io/v1beta2"}      # Strimzi 0.45.2 (Kafka 3.9.2)
    assert {d["apiVersion"] for d in cnpg} == {"postgresql.cnpg.io/v1"}
    assert {d["kind"] for d in strimzi} == {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
    [kafka] = by_kind(DOCS, "Kafka").values()
    assert kafka["metadata"]["annotations"] == {"strimzi.io/kraft": "enabled", "strimzi.io/node-pools": "enabled"}
    assert "zookeeper" not in kafka["spec"] and "replicas" not in kafka["spec"]["kafka"]
    [pool] = by_kind(DOCS, "KafkaNodePool").values()
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert sorted(by_kind(DOCS, "Cluster")) == sorted(f"pg-{s}" for s in SERVICES)


def test_kafka_is_the_same_version_everywhere():
    [kafka] = by_kind(DOCS, "Kafka").values()
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    local = re.search(r'^KAFKA_VERSION = "([\d.]+)"', (INFRA / "local" / "localinfra.py").read_text(), re.M)
    pom = re.search(r"<kafka.version>([\d.]+)</kafka.version>", (INFRA / "local" / "kafka" / "pom.xml").read_text())
    versions = {kafka["spec"]["kafka"]["version"], compose["services"]["kafka"]["image"].split(":")[1],
                local.group(1), pom.group(1)}
    assert versions == {"3.9.2"}
    assert kafka["spec"]["kafka"]["metadataVersion"].startswith("3.9-")


def _settings_class(service: str):
    module = importlib.import_module(f"{service.replace('-', '_')}.config")
    return module.Settings


# What each service needs in production beyond its settings' required fields (bootstrap and validators).
PRODUCTION_NEEDS = {
    "data-exchange": {"IDENTIFIER_KEY", "MLLP_HOST"},
    "referral": {"DATA_EXCHANGE_GRPC", "RECOGNITION_GRPC"},
    "procurement": set(),
    "cost-sharing": {"LEDGER_SIGNING_KEY_FILE", "LEDGER_PUBLIC_KEY_FILE"},
    "results-mutual-recognition": {"DATA_EXCHANGE_GRPC"},
}
COMMON_NEEDS = {"ENVIRONMENT", "JWT_ISSUER", "JWT_AUDIENCE", "HTTP_HOST", "GRPC_HOST", "HTTP_PORT", "GRPC_PORT",
                "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME", "KAFKA_PASSWORD",
                "KAFKA_SSL_CAFILE", "CONSUMER_GROUP"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_gets_every_setting_it_needs_in_production(service, monkeypatch):
    prefix, http, grpc = SERVICES[service]
    settings_class = _settings_class(service)
    env = _env(_container(service))
    required = {prefix + name.upper() for name, f in settings_class.model_fields.items() if f.is_required()}
    needed = required | {prefix + n for n in COMMON_NEEDS | PRODUCTION_NEEDS[service]}
    assert needed <= set(env), f"{service} lacks {sorted(needed - set(env))}"
    assert env[prefix + "ENVIRONMENT"] == "production"
    for name in [k for k in os.environ if k.startswith(prefix)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = settings_class()        # the production validators run here (issuer, identifier key, peers)
    assert (settings.http_port, settings.grpc_port, settings.http_host) == (http, grpc, "0.0.0.0")
    assert (settings.kafka_security.protocol, settings.kafka_security.username) == ("SASL_SSL", service)
    migrate = DEPLOYMENTS[service]["spec"]["template"]["spec"]["initContainers"][0]
    assert prefix + "DATABASE_URL" in _env(migrate)
    for peer in ("DATA_EXCHANGE_GRPC", "RECOGNITION_GRPC"):
        if prefix + peer in env:
            callee = "data-exchange" if peer == "DATA_EXCHANGE_GRPC" else "results-mutual-recognition"
            assert (service, callee) in GRPC_PATHS and env[prefix + peer] == f"{callee}:{SERVICES[callee][2]}"


def _mounts(deployment: str) -> list[tuple[dict, dict]]:
    """(volumeMount, volume) pairs of the service container."""
    spec = DEPLOYMENTS[deployment]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    out = []
    for m in _container(deployment).get("volumeMounts", []):
        assert m["name"] in volumes, f"{deployment}: mount {m['name']} has no volume"
        out.append((m, volumes[m["name"]]))
    return out


# Secrets the manifests use but do not contain: made by the operators or created once by hand (docs/scale-out.md).
OPERATOR_SECRETS = {"alliance-cluster-ca-cert", *SERVICES, *(f"pg-{s}-app" for s in SERVICES)}
HAND_MADE_SECRETS = {"data-exchange-identifier-key", "cost-sharing-ledger-signing-key"}


@pytest.mark.parametrize("deployment", [*SERVICES, "console"])
def test_every_file_a_setting_names_is_mounted(deployment):
    env = _env(_container(deployment))
    mounts = _mounts(deployment)
    for name, value in env.items():
        if not value.startswith("/") or value.startswith("/tmp"):
            continue
        path = PurePosixPath(value)
        found = [(m, v) for m, v in mounts if path.is_relative_to(m["mountPath"])]
        assert found, f"{deployment}: {name}={value} is on no mounted volume"
        mount, volume = found[0]
        source = volume.get("secret") or volume.get("configMap")
        assert source, f"{deployment}: {name} is on volume {volume['name']}, which is neither Secret nor ConfigMap"
        relative = str(path.relative_to(mount["mountPath"]))
        assert relative in [i["path"] for i in source.get("items", [])], f"{deployment}: {name} names no item"
        if "configMap" in volume:
            cm = CONFIGMAPS[source["name"]]
            assert all(i["key"] in cm["data"] for i in source["items"])
        else:
            assert source["secretName"] in OPERATOR_SECRETS | HAND_MADE_SECRETS
    docs = (ROOT / "docs" / "scale-out.md").read_text()
    for secret in HAND_MADE_SECRETS:
        assert secret in docs, f"docs/scale-out.md does not say how to create {secret}"


def test_cost_sharing_starts_in_production_once_its_key_pair_is_in_the_secret_and_the_configmap(tmp_path,
                                                                                                 monkeypatch):
    from cost_sharing.bootstrap import pinned_keys, signing_key
    from cost_sharing.domain.ledger import generate_signing_key, private_key_to_pem, public_key_pem

    env = _env(_container("cost-sharing"))
    volumes = {m["mountPath"]: v for m, v in _mounts("cost-sharing")}
    key = generate_signing_key()
    for name, content in [("COST_SHARING_LEDGER_SIGNING_KEY_FILE", private_key_to_pem(key)),
                          ("COST_SHARING_LEDGER_PUBLIC_KEY_FILE",
                           CONFIGMAPS["cost-sharing-ledger-public-keys"]["data"]["alliance-ledger.pem"])]:
        path = PurePosixPath(env[name])
        assert str(path.parent) in volumes
        local = tmp_path / path.name
        local.write_text(content)
        env[name] = str(local)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = _settings_class("cost-sharing")()
    assert signing_key(settings).public_key() == key.public_key()
    with pytest.raises(SystemExit, match="no PEM public key block"):     # the shipped file: the operator's key first
        pinned_keys(settings, key)
    with open(settings.ledger_public_key_file, "a") as f:                  # as the file's instructions say
        f.write(public_key_pem(key))
    assert len(pinned_keys(settings, key)) == 1


def _selects(policy: dict, labels: dict) -> bool:
    sel = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in sel.get("matchLabels", {}).items()):
        return False
    return all(labels.get(e["key"]) in e["values"] for e in sel.get("matchExpressions", []) if e["operator"] == "In")


def _pod_labels(deployment: str) -> dict:
    return DEPLOYMENTS[deployment]["spec"]["template"]["metadata"]["labels"]


def _port_numbers(ports: list[dict], deployment: str) -> set[int]:
    named = {p["name"]: p["containerPort"] for p in _container(deployment)["ports"]}
    return {named[p["port"]] if isinstance(p["port"], str) else p["port"] for p in ports}


def test_network_policies_deny_by_default_and_cover_every_pod():
    for deployment in [*SERVICES, "console"]:
        labels = _pod_labels(deployment)
        covering = [p for p in POLICIES if _selects(p, labels)]
        assert any(not p["spec"].get("ingress") and not p["spec"].get("egress")
                   and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in covering), deployment
        assert any(p["spec"].get("ingress") and p["spec"].get("egress") for p in covering), deployment


def _egress_to(deployment: str) -> list[tuple[dict, set[int]]]:
    """(peer, port numbers) the pod may reach."""
    out = []
    for p in POLICIES:
        if _selects(p, _pod_labels(deployment)):
            for rule in p["spec"].get("egress", []):
                for peer in rule.get("to", []):
                    out.append((peer, {x["port"] for x in rule.get("ports", [])}))
    return out


def _ingress_from(deployment: str) -> list[tuple[dict, set[int]]]:
    out = []
    for p in POLICIES:
        if _selects(p, _pod_labels(deployment)):
            for rule in p["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    out.append((peer, _port_numbers(rule.get("ports", []), deployment)))
    return out


def _pod_name(peer: dict) -> str | None:
    return peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") \
        if set(peer) == {"podSelector"} else None


def test_grpc_flows_only_along_the_architectures_paths():
    allowed_out = {(s, callee) for s in SERVICES for peer, ports in _egress_to(s)
                   if (callee := _pod_name(peer)) in SERVICES and SERVICES[callee][2] in ports}
    allowed_in = {(caller, s) for s in SERVICES for peer, ports in _ingress_from(s)
                  if (caller := _pod_name(peer)) in SERVICES and SERVICES[s][2] in ports}
    assert allowed_out == GRPC_PATHS and allowed_in == GRPC_PATHS
    for s in SERVICES:                 # no service-to-service HTTP, and no other way in for a peer service
        assert all(_pod_name(peer) not in SERVICES or ports == {SERVICES[s][2]} for peer, ports in _ingress_from(s))


def test_each_service_reaches_its_own_database_and_kafka_only():
    for s in SERVICES:
        databases = {peer["podSelector"]["matchLabels"]["cnpg.io/cluster"] for peer, _ in _egress_to(s)
                     if "cnpg.io/cluster" in peer.get("podSelector", {}).get("matchLabels", {})}
        assert databases == {f"pg-{s}"}
        kafka = [ports for peer, ports in _egress_to(s)
                 if peer.get("podSelector", {}).get("matchLabels", {}).get("strimzi.io/cluster") == "alliance"]
        assert kafka == [{9093}]
        db_policy = [p for p in POLICIES
                     if p["spec"]["podSelector"].get("matchLabels") == {"cnpg.io/cluster": f"pg-{s}"}]
        assert db_policy, f"pg-{s} admits anyone"
        admitted = {_pod_name(peer) for rule in db_policy[0]["spec"]["ingress"] for peer in rule["from"]} - {None}
        assert admitted == {s}
    [kafka] = by_kind(DOCS, "Kafka").values()
    [tls] = [listener for listener in kafka["spec"]["kafka"]["listeners"] if listener["type"] == "internal"]
    assert tls["networkPolicyPeers"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "service"}}}]


def test_outside_traffic_enters_only_through_the_ingress_and_mllp():
    for s in SERVICES:
        outside = [(peer, ports) for peer, ports in _ingress_from(s) if "ipBlock" in peer]
        assert outside == ([({"ipBlock": {"cidr": "0.0.0.0/0"}}, {2575})] if s == "data-exchange" else [])
        namespaces = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: ports
                      for peer, ports in _ingress_from(s) if "namespaceSelector" in peer}
        assert namespaces == {"ingress-nginx": {SERVICES[s][1]}, "monitoring": {SERVICES[s][1]}}
    console_in = _ingress_from("console")
    assert console_in == [({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
                           {8090})]
    assert {_pod_name(peer) for peer, _ in _egress_to("console")} - {None} == set(SERVICES)


def test_the_console_runs_in_production_behind_an_ingress_with_tls():
    env = _env(_container("console"))
    assert env["CONSOLE_ENVIRONMENT"] == "production"
    for s, (prefix, http, _) in SERVICES.items():
        assert env[f"CONSOLE_{prefix}URL"] == f"http://{s}:{http}"
    [ingress] = by_kind(DOCS, "Ingress").values()
    [tls] = ingress["spec"]["tls"]
    assert tls["secretName"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    services = by_kind(DOCS, "Service")
    backends = set()
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls["hosts"]
        for path in rule["http"]["paths"]:
            svc = path["backend"]["service"]
            assert svc["port"]["name"] in [p["name"] for p in services[svc["name"]]["spec"]["ports"]]
            backends.add(svc["name"])
    assert backends == {*SERVICES, "console"}


def test_the_settlement_feeds_retention_is_a_documented_choice():
    topics = {d["spec"]["topicName"]: d for d in by_kind(DOCS, "KafkaTopic").values()}
    days = int(topics["alliance.cost_sharing.v1"]["spec"]["config"]["retention.ms"]) // 86_400_000
    regulators = (ROOT / "docs" / "regulators.md").read_text()
    assert f"**{days} days**" in regulators and "--from-checkpoint" in regulators
