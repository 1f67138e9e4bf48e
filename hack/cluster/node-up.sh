#!/usr/bin/env bash
# Starts the single-node cluster: host network (a dummy interface with the node
# IP, forwarding), containerd, etcd, kube-apiserver, kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy; waits for the node to be
# Ready, then installs the addons (CoreDNS, storage). Binaries from
# hack/cluster/build.sh, images imported by hack/cluster/images.sh.
# Root only. Undo with hack/cluster/down.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"

[ "$(id -u)" = 0 ] || die "the cluster needs root (network, cgroups, mounts)"
for c in containerd runc ctr iptables conntrack ip; do need "$c" "apt-get install containerd runc iptables conntrack iproute2"; done
[ -x /usr/lib/cni/bridge ] || die "CNI plugins missing (apt-get install containernetworking-plugins)"
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  [ -x "$KUBE_ASSETS/$b" ] || die "$KUBE_ASSETS/$b missing: run hack/cluster/build.sh"
done
B="$KUBE_ASSETS"
mkdir -p "$CL_RUN" "$CL_LOGS"

# --- host network: remember the sysctls we change, so down.sh restores them
if [ ! -f "$CL_RUN/sysctl.saved" ]; then
  for k in net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables; do
    echo "$k=$(sysctl -n "$k" 2>/dev/null || echo 0)"
  done >"$CL_RUN/sysctl.saved"
fi
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "br_netfilter not loaded: pod-to-Service traffic on the bridge may not be NATed back"
if ! ip link show "$NODE_IF" >/dev/null 2>&1; then
  ip link add "$NODE_IF" type dummy 2>/dev/null || ip link add "$NODE_IF" type bridge # no dummy module on some kernels: an empty bridge
  ip addr add "$NODE_IP/32" dev "$NODE_IF"
fi
ip link set "$NODE_IF" up

bash "$ROOT/hack/cluster/certs.sh"
bash "$ROOT/hack/cluster/config.sh"
cfg="$CL_RUN/cfg"
P="$CL_PKI"

log "containerd"
start containerd containerd --config "$cfg/containerd.toml"
until_ok 30 containerd ctr --address "$CONTAINERD_SOCK" version
bash "$ROOT/hack/cluster/images.sh" import

log "etcd + kube-apiserver on $NODE_IP"
start etcd "$B/etcd" --name "$NODE_NAME" --data-dir "$CL_RUN/etcd" \
  --listen-client-urls "http://$NODE_IP:2379" --advertise-client-urls "http://$NODE_IP:2379" \
  --listen-peer-urls "http://$NODE_IP:2380" --initial-advertise-peer-urls "http://$NODE_IP:2380" \
  --initial-cluster "$NODE_NAME=http://$NODE_IP:2380" --listen-metrics-urls "http://$NODE_IP:2381" \
  --quota-backend-bytes 2147483648
start kube-apiserver "$B/kube-apiserver" --etcd-servers "http://$NODE_IP:2379" \
  --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
  --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true \
  --authorization-mode Node,RBAC \
  --client-ca-file "$P/ca.crt" --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" \
  --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP,Hostname \
  --requestheader-client-ca-file "$P/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- --enable-aggregator-routing=true \
  --proxy-client-cert-file "$P/front-proxy-client.crt" --proxy-client-key-file "$P/front-proxy-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key"
until_ok 90 "the API server (see $CL_LOGS/kube-apiserver.log)" kubectl_ get --raw /readyz

log "kubelet ($NODE_NAME, $NODE_IP)"
start kubelet "$B/kubelet" --config "$cfg/kubelet.yaml" --kubeconfig "$P/kubelet.kubeconfig" \
  --root-dir "$CL_RUN/kubelet" --cert-dir "$CL_RUN/kubelet-pki" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"

log "kube-controller-manager, kube-scheduler, kube-proxy"
start kube-controller-manager "$B/kube-controller-manager" --bind-address "$NODE_IP" \
  --kubeconfig "$P/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig "$P/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig "$P/kube-controller-manager.kubeconfig" \
  --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt" \
  --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
  --use-service-account-credentials=true --leader-elect=false \
  --service-cluster-ip-range "$SERVICE_CIDR" --flex-volume-plugin-dir "$CL_RUN/kcm-flex" \
  --horizontal-pod-autoscaler-downscale-stabilization=30s # 5 min by default: the e2e scale-in would wait that long
start kube-scheduler "$B/kube-scheduler" --bind-address "$NODE_IP" \
  --kubeconfig "$P/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig "$P/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig "$P/kube-scheduler.kubeconfig" --leader-elect=false
start kube-proxy "$B/kube-proxy" --config "$cfg/kube-proxy.yaml"

until_ok 90 "node $NODE_NAME Ready (see $CL_LOGS/kubelet.log)" \
  kubectl_ wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
until_ok 60 "the default service account" kubectl_ -n default get serviceaccount default
log "node $NODE_NAME Ready"
bash "$ROOT/hack/cluster/addons.sh"
