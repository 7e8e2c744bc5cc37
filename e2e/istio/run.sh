#!/usr/bin/env bash
# End to end on a real cluster: kind + Istio + deploy/example, scenarios with
# curl. For machines with Docker; not run in CI.
#
# Needs: docker, kind, kubectl, istioctl (>= 1.25), go, make.
#   e2e/istio/run.sh            # create, install, deploy, test
#   KEEP=1 e2e/istio/run.sh     # leave the cluster running afterwards
#   EXAMPLE=deploy/example-trafficextension e2e/istio/run.sh
#                               # TrafficExtensions instead of WasmPlugins (Istio >= 1.30)
# CI runs make istio-e2e instead (Istio's discovery server and Wasm cache,
# no cluster; docs/istio.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER=${CLUSTER:-lanedye}
EXAMPLE=${EXAMPLE:-deploy/example}
REG_NAME=${REG_NAME:-kind-registry}
REG_PORT=${REG_PORT:-5001}
IMAGE_HOST="localhost:${REG_PORT}/lanedye:e2e"     # as pushed from this machine (lanedye-gateway:e2e, lanedye-sidecar:e2e)
IMAGE_CLUSTER="${REG_NAME}:5000/lanedye"          # as pulled inside the cluster

for tool in docker kind kubectl istioctl go make; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

cleanup() { [ -n "${KEEP:-}" ] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "== local registry ${REG_NAME} on 127.0.0.1:${REG_PORT}"
if [ "$(docker inspect -f '{{.State.Running}}' "$REG_NAME" 2>/dev/null || true)" != true ]; then
  docker run -d --restart=always -p "127.0.0.1:${REG_PORT}:5000" --name "$REG_NAME" registry:2 >/dev/null
fi

echo "== kind cluster ${CLUSTER}"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
docker network connect kind "$REG_NAME" 2>/dev/null || true

echo "== Istio (demo profile: ingress gateway labelled istio=ingressgateway)"
# The agents fetch the module from the plain-HTTP registry; expose lanedye's
# counters in the proxies' stats.
istioctl install -y --set profile=demo \
  --set meshConfig.defaultConfig.proxyMetadata.WASM_INSECURE_REGISTRIES='*' \
  --set 'meshConfig.defaultConfig.proxyStatsMatcher.inclusionPrefixes[0]=wasmcustom.lanedye'

echo "== build and push one module image per role (no Docker needed for this step)"
make push IMAGE="$IMAGE_HOST"

echo "== apply ${EXAMPLE} with the image from the local registry"
kubectl kustomize "${EXAMPLE}" \
  | sed -e "s#oci://registry.example.com/lanedye/lanedye-gateway:v0.1.0#oci://${IMAGE_CLUSTER}-gateway:e2e#" \
        -e "s#oci://registry.example.com/lanedye/lanedye-sidecar:v0.1.0#oci://${IMAGE_CLUSTER}-sidecar:e2e#" \
  | kubectl apply -f -
# The sticky key reaches the gateway VM through the proxy's environment.
kubectl -n istio-system patch deployment istio-ingressgateway \
  --patch-file deploy/plugins/ingressgateway-env-patch.yaml
kubectl -n lanedye-demo rollout status deploy --timeout=300s
kubectl -n istio-system rollout status deploy/istio-ingressgateway --timeout=120s
sleep 10 # the agents fetch the module and Envoy loads it

kubectl -n istio-system port-forward svc/istio-ingressgateway 18080:80 >/dev/null 2>&1 &
PF=$!
trap 'kill $PF 2>/dev/null; cleanup' EXIT
sleep 3

fail=0
# request NAME WANT [curl args...]: WANT is "gray" (frontend and payment in
# gray, checkout in base) or "base" (no gray anywhere). The example app
# answers with the app and version of every hop; the body is printed.
request() {
  local name=$1 want=$2; shift 2
  local body
  body=$(curl -s -D /tmp/lanedye-headers -H 'Host: myapp.example.com' \
              -H "my-request-id: $(cat /proc/sys/kernel/random/uuid)" "$@" http://127.0.0.1:18080/)
  local grays; grays=$(grep -o gray <<<"$body" | wc -l)
  local ok=yes
  if [ "$want" = gray ] && [ "$grays" -lt 2 ]; then ok=NO; fi
  if [ "$want" = base ] && [ "$grays" -ne 0 ]; then ok=NO; fi
  [ "$ok" = yes ] || fail=1
  printf '%-40s want %-4s ok=%-3s %s\n' "$name" "$want" "$ok" "$(tr -d '\n' <<<"$body" | cut -c1-120)"
}

echo "== scenarios"
request "undyed"                       base
request "rule user-tail-012"           gray -H 'x-user-id: 12340'
cookie=$(grep -i '^set-cookie:' /tmp/lanedye-headers | sed 's/^[Ss]et-[Cc]ookie: *//; s/;.*//' | tr -d '\r')
request "sticky cookie only"           gray -H "cookie: ${cookie}"
request "spoofed x-swimlane: gray"     base -H 'x-swimlane: gray'
request "forged cookie"                base -H 'cookie: x-sticky-version=gray.Zm9yZ2Vk'
request "rule beijing-region"          gray -H 'x-user-region: beijing'

echo "== counters on the gateway"
kubectl -n istio-system exec deploy/istio-ingressgateway -c istio-proxy -- \
  pilot-agent request GET stats | grep lanedye || true

[ "$fail" = 0 ] && echo "PASS" || { echo "FAIL"; exit 1; }
