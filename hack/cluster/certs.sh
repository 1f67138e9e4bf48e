#!/usr/bin/env bash
# The cluster's PKI with openssl, in .cache/cluster/run/pki (made once per
# cluster-up, removed by cluster-down): a CA, the API server's serving
# certificate (for the node IP, the kubernetes Service IP and 127.0.0.1),
# client certificates for admin (system:masters), the API server's kubelet
# client, the kubelet (system:node:<node>), the controller manager, the
# scheduler and kube-proxy, the front-proxy CA and client of the aggregation
# layer, the service-account key pair, and a kubeconfig per client.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
need openssl "apt-get install openssl"

[ -f "$CL_PKI/.done" ] && exit 0
rm -rf "$CL_PKI"
mkdir -p "$CL_PKI"
cd "$CL_PKI"
umask 077

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -sha256 -days 30 \
  -subj "/CN=bookstore-cluster-ca" -out ca.crt 2>/dev/null

# cert NAME SUBJECT [SANS]: a key and a CA-signed certificate; with SANS a
# serving (and client) certificate, else a client certificate.
cert() {
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "${3:-}" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$3"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

cert apiserver "/CN=kube-apiserver" \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=bookstore-admin"
cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
cert kube-controller-manager "/CN=system:kube-controller-manager"
cert kube-scheduler "/CN=system:kube-scheduler"
cert kube-proxy "/CN=system:kube-proxy"
# The aggregation layer (metrics-server behind metrics.k8s.io): a front-proxy CA of its own
# and the API server's proxy client certificate, which aggregated servers trust.
openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -sha256 -days 30 \
  -subj "/CN=bookstore-front-proxy-ca" -out front-proxy-ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout front-proxy-client.key -subj "/CN=front-proxy-client" \
  -out front-proxy-client.csr 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >front-proxy-client.ext
openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key -CAcreateserial \
  -days 30 -sha256 -extfile front-proxy-client.ext -out front-proxy-client.crt 2>/dev/null
rm -f front-proxy-client.csr front-proxy-client.ext
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

for user in admin kubelet kube-controller-manager kube-scheduler kube-proxy; do
  cat >"$user.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: bookstore
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority: $CL_PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $CL_PKI/$user.crt
    client-key: $CL_PKI/$user.key
contexts:
- name: bookstore
  context: {cluster: bookstore, user: $user}
current-context: bookstore
KC
done
touch .done
log "PKI in $CL_PKI"
