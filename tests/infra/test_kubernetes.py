"""The Kubernetes templates parse and carry what infra/kubernetes/README.md promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tasks.params import REPO_ROOT, load_params

K8S = REPO_ROOT / "infra" / "kubernetes"


def documents(name: str) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((K8S / name).read_text())}


def flag(args: list[str], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in args if arg.startswith(f"--{name}=")]
    return value


def test_work_pool_template_requests_gpus_on_gpu_nodes():
    template = json.loads((K8S / "base-job-template.json").read_text())
    pod = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "{{ gpus }}"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "{{ gpus }}"
    assert pod["nodeSelector"] == "{{ node_selector }}" and pod["tolerations"] == "{{ tolerations }}"
    assert container["envFrom"] == [{"secretRef": {"name": "{{ stack_secret }}"}}]
    defaults = {key: spec.get("default") for key, spec in template["variables"]["properties"].items()}
    assert defaults["gpus"] >= 1
    assert defaults["node_selector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in defaults["tolerations"]
    # Every placeholder of the Job is a declared variable (a typo would reach the cluster as literal text).
    placeholders = set(re.findall(r"\{\{ *(\w+) *\}\}", json.dumps(template["job_configuration"])))
    assert placeholders <= set(defaults), placeholders - set(defaults)


def test_vllm_replicas_behind_one_service_usable_as_endpoint(tmp_path):
    docs = documents("vllm.yaml")
    deployment, service = docs["Deployment"], docs["Service"]
    assert deployment["spec"]["replicas"] > 1
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] in {port["name"] for port in container["ports"]}
    assert container["resources"]["requests"]["nvidia.com/gpu"] >= 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    # Self-generation accepts it: the served name is the desta25 backbone, and the URL is a valid endpoint.
    desta25 = yaml.safe_load((REPO_ROOT / "presets" / "desta25.yaml").read_text())["model"]["llm"]
    assert flag(container["args"], "served-model-name") == desta25 == flag(container["args"], "model")
    url = f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:" \
          f"{service['spec']['ports'][0]['port']}"
    assert url in (K8S / "README.md").read_text()
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    data["generate"]["endpoints"] = [url]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    assert load_params(tmp_path / "params.yaml").generate.endpoints == [url]


def test_torchrun_job_nodes_ranks_and_rendezvous_agree():
    docs = documents("train-torchrun.yaml")
    job, service = docs["Job"], docs["Service"]
    spec = job["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    args = container["args"]
    assert container["command"] == ["torchrun"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(flag(args, "nnodes")) >= 2
    assert int(flag(args, "nproc-per-node")) == container["resources"]["requests"]["nvidia.com/gpu"]
    assert flag(args, "node-rank") == "$(JOB_COMPLETION_INDEX)"
    name = job["metadata"]["name"]
    assert flag(args, "rdzv-endpoint") == f"{name}-0.{service['metadata']['name']}:29500"
    assert service["spec"]["clusterIP"] == "None" and spec["template"]["spec"]["subdomain"] == service["metadata"]["name"]
    assert service["spec"]["selector"] == {"job-name": name}
    assert args[args.index("-m") + 1] == "tasks.train.launch"
