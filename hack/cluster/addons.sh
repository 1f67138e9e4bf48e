#!/usr/bin/env bash
# The cluster's addons: CoreDNS (Services resolve by name) and storage.
# Storage: no dynamic provisioner runs here, so a few hostPath
# PersistentVolumes without a class (the PVCs of the managed PostgreSQL and
# Kafka name no class and bind to them) under .cache/cluster/run/pv, mode 1777
# so the non-root PostgreSQL and Kafka users create their data directories.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
PV_COUNT="${CLUSTER_PV_COUNT:-8}"

log "CoreDNS v$COREDNS_VERSION ($DNS_IP)"
sed -e "s|COREDNS_IMAGE|$COREDNS_IMAGE|; s|DNS_IP|$DNS_IP|" "$ROOT/hack/cluster/addons/coredns.yaml" | kubectl_ apply -f - >/dev/null

log "$PV_COUNT hostPath PersistentVolumes in $CL_RUN/pv"
for i in $(seq 1 "$PV_COUNT"); do
  d="$CL_RUN/pv/pv$i"
  mkdir -p "$d" && chmod 1777 "$d"
  cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: local-pv$i
  labels: {bookstore.dev/local-cluster: "true"}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: $d, type: Directory}
EOF
done | kubectl_ apply -f - >/dev/null

kubectl_ -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null \
  || die "CoreDNS did not become ready (kubectl -n kube-system describe pod -l k8s-app=kube-dns)"
log "addons ready"
