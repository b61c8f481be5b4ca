#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_k8s.sh - deploy/kubernetes/tollgate.yaml is well-formed and coherent.
#
# PyYAML parses every document; then: the kinds are there, the DaemonSet's
# selector matches its pods, every mount has its volume and the ConfigMap
# exists with a tollgate.yaml that is YAML too, the containers add no
# capability beyond those the agent needs (tests/e2e/test_privdrop.sh runs
# it with exactly these) and cannot escalate, `tollgate` accepts the
# container's arguments, and `tollgate check-config` the ConfigMap's. Skips without python3 and PyYAML.
# Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
MANIFEST=deploy/kubernetes/tollgate.yaml

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

command -v python3 >/dev/null ||
	{ log "SKIP: no python3"; exit 77; }
python3 -c 'import yaml' 2>/dev/null ||
	{ log "SKIP: no PyYAML (apt-get install python3-yaml)"; exit 77; }
[ -x ./tollgate ] || { log "FAIL: no ./tollgate: run 'make' first"; exit 1; }

# Prints the agent container's arguments, one a line, or the failures.
args=$(python3 - "$MANIFEST" <<'PY'
import sys, yaml

fails = []
def check(cond, msg):
    if not cond:
        fails.append(msg)

with open(sys.argv[1]) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]
by_kind = {d["kind"]: d for d in docs}
for kind in ("Namespace", "ConfigMap", "DaemonSet"):
    check(kind in by_kind, f"no {kind}")
ns = by_kind["Namespace"]["metadata"]["name"]
for d in docs:
    if d["kind"] != "Namespace":
        check(d["metadata"].get("namespace") == ns,
              f"{d['kind']} is not in namespace {ns}")

ds = by_kind["DaemonSet"]
check(ds["apiVersion"] == "apps/v1", "DaemonSet is not apps/v1")
sel = ds["spec"]["selector"]["matchLabels"]
labels = ds["spec"]["template"]["metadata"]["labels"]
check(all(labels.get(k) == v for k, v in sel.items()),
      "the selector does not match the pod labels")
pod = ds["spec"]["template"]["spec"]
check(pod.get("hostPID") is not True, "hostPID is on")
volumes = {v["name"]: v for v in pod["volumes"]}
cm = by_kind["ConfigMap"]
for v in volumes.values():
    if "configMap" in v:
        check(v["configMap"]["name"] == cm["metadata"]["name"],
              f"volume {v['name']} names a ConfigMap the manifest lacks")
for key, text in cm["data"].items():
    try:
        check(isinstance(yaml.safe_load(text), dict),
              f"ConfigMap {key} is not a mapping")
    except yaml.YAMLError as e:
        fails.append(f"ConfigMap {key}: {e}")

allowed = {"tollgate": {"BPF", "NET_ADMIN", "PERFMON", "SETUID", "SETGID"},
           "state-owner": {"CHOWN"}}
containers = pod.get("initContainers", []) + pod["containers"]
for c in containers:
    sc = c.get("securityContext", {})
    caps = sc.get("capabilities", {})
    check(caps.get("drop") == ["ALL"], f"{c['name']} does not drop ALL")
    extra = set(caps.get("add", [])) - allowed.get(c["name"], set())
    check(not extra, f"{c['name']} adds capabilities {sorted(extra)}")
    check(sc.get("privileged") is not True, f"{c['name']} is privileged")
    check(sc.get("allowPrivilegeEscalation") is False,
          f"{c['name']} may escalate privileges")
    check(sc.get("readOnlyRootFilesystem") is True,
          f"{c['name']} has a writable root filesystem")
    for m in c.get("volumeMounts", []):
        check(m["name"] in volumes,
              f"{c['name']} mounts {m['name']}, which is no volume")

agent = [c for c in pod["containers"] if c["name"] == "tollgate"]
check(len(agent) == 1, "no container tollgate")
mounts = {m["mountPath"]: m for m in agent[0]["volumeMounts"]}
for path in ("/sys/fs/bpf", "/sys/fs/cgroup", "/var/lib/tollgate",
             "/etc/tollgate"):
    check(path in mounts, f"the agent does not mount {path}")
for path in ("/sys/fs/bpf", "/sys/fs/cgroup", "/var/lib/tollgate"):
    src = volumes.get(mounts.get(path, {}).get("name"), {})
    check(src.get("hostPath", {}).get("path") == path,
          f"{path} is not the host's")
check(mounts.get("/sys/fs/cgroup", {}).get("readOnly") is True,
      "cgroupfs is mounted writable")
check("--user" in agent[0]["args"], "the agent does not drop to a user")

for f in fails:
    print("FAIL: " + f)
if fails:
    sys.exit(1)
print("\n".join(agent[0]["args"]))
PY
) || { printf '%s\n' "$args"; log "FAIL: $MANIFEST is not right"; exit 1; }

# The agent must accept its arguments: options are parsed in order, so an
# unknown one fails before --help exits 0.
mapfile -t argv <<<"$args"
out=$(./tollgate "${argv[@]}" --help 2>&1) ||
	{ log "FAIL: tollgate does not accept '${argv[*]}': $out"; exit 1; }
# The ConfigMap's configuration must load as the agent will load it.
tmp=$(mktemp -d /tmp/tollgate-k8s.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        sys.stdout.write(d["data"]["tollgate.yaml"])' "$MANIFEST" >"$tmp/tollgate.yaml"
out=$(./tollgate check-config "$tmp/tollgate.yaml" 2>&1) ||
	{ log "FAIL: the ConfigMap's tollgate.yaml: $out"; exit 1; }
log "manifest parses; its configuration loads; agent runs as: tollgate ${argv[*]}"
log PASS
