#!/usr/bin/env bash
# Writes the configuration files of the cluster's processes into
# .cache/cluster/run/cfg: containerd, the CNI network, the kubelet, kube-proxy
# and the pods' resolv.conf. The settings marked REQUIRED were needed on this
# kind of machine (cgroup v1 hybrid, no systemd, no CAP_SYS_RESOURCE): see docs/e2e.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"

cfg="$CL_RUN/cfg"
mkdir -p "$cfg/net.d" "$CL_RUN/manifests"
mtu="$(cat /sys/class/net/eth0/mtu 2>/dev/null || echo 1500)"

cat >"$cfg/containerd.toml" <<EOF
version = 2
root = "$CL_RUN/containerd/root"
state = "$CL_RUN/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CL_RUN/containerd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_IMAGE"
    # REQUIRED: no CAP_SYS_RESOURCE, so oom_score_adj < 0 is refused and every
    # sandbox would fail ("nsexec: failed to update /proc/self/oom_score_adj")
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$cfg/net.d"
EOF

cat >"$cfg/net.d/10-bookstore.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "bookstore",
  "plugins": [
    {"type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true, "mtu": $mtu,
     "ipam": {"type": "host-local", "dataDir": "$CL_RUN/cni-ipam",
              "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF

# Pods resolve cluster names only: no search domain or nameserver of the host.
echo "# no host resolvers: cluster DNS only" >"$cfg/resolv.conf"

cat >"$cfg/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false      # REQUIRED on cgroup v1 hosts since 1.35 (else the kubelet refuses to start)
cgroupDriver: cgroupfs   # REQUIRED: no systemd; containerd 1.6 reports no RuntimeConfig
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
healthzBindAddress: $NODE_IP
readOnlyPort: 0
staticPodPath: $CL_RUN/manifests
podLogsDir: $CL_RUN/pod-logs
volumePluginDir: $CL_RUN/kubelet-plugins
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CL_PKI/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: $cfg/resolv.conf
failSwapOn: false
# a shared CI disk: never evict or garbage-collect our images for disk pressure
evictionHard: {memory.available: 200Mi, nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF

cat >"$cfg/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CL_PKI/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: $NODE_IP:10256
metricsBindAddress: $NODE_IP:10249
# NodePorts answer on the node IP and on 127.0.0.1 (route_localnet): the host
# reaches the entry point on loopback
nodePortAddresses: ["$NODE_IP/32", "127.0.0.1/32"]
oomScoreAdj: 0           # REQUIRED: no CAP_SYS_RESOURCE
conntrack: {maxPerCore: 0} # REQUIRED: leave the host's nf_conntrack_max alone
EOF
