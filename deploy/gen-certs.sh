#!/bin/sh
# Creates the mesh CA (Secret pilotfish-ca) and the injection webhook's serving certificate signed by it
# (Secret pilotfish-webhook-tls), then puts the CA into the MutatingWebhookConfiguration's caBundle.
# Run once after `kubectl apply -k deploy/base`; needs openssl and kubectl. Re-running keeps existing Secrets.
set -eu
NS=pilotfish-system
SVC=pilotfish-control-plane
WEBHOOK=pilotfish-sidecar-injector
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

if kubectl -n "$NS" get secret pilotfish-ca >/dev/null 2>&1; then
  echo "Secret $NS/pilotfish-ca exists; reusing it"
  kubectl -n "$NS" get secret pilotfish-ca -o jsonpath='{.data.ca\.crt}' | base64 -d > "$DIR/ca.crt"
  kubectl -n "$NS" get secret pilotfish-ca -o jsonpath='{.data.ca\.key}' | base64 -d > "$DIR/ca.key"
else
  # RSA: the control plane's CA signs with node-forge, which reads RSA keys only.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=cluster.local/CN=Pilotfish root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null
  kubectl -n "$NS" create secret generic pilotfish-ca --from-file=ca.crt="$DIR/ca.crt" --from-file=ca.key="$DIR/ca.key"
fi

if ! kubectl -n "$NS" get secret pilotfish-webhook-tls >/dev/null 2>&1; then
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$SVC.$NS.svc" -keyout "$DIR/tls.key" -out "$DIR/tls.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
    "$SVC" "$SVC" "$NS" "$SVC" "$NS" > "$DIR/ext.cnf"
  openssl x509 -req -in "$DIR/tls.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -days 365 \
    -extfile "$DIR/ext.cnf" -out "$DIR/tls.crt" 2>/dev/null
  kubectl -n "$NS" create secret tls pilotfish-webhook-tls --cert="$DIR/tls.crt" --key="$DIR/tls.key"
fi

CA_BUNDLE=$(base64 < "$DIR/ca.crt" | tr -d '\n')
kubectl patch mutatingwebhookconfiguration "$WEBHOOK" --type=json \
  -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$CA_BUNDLE\"}]"
echo "caBundle set on $WEBHOOK; the control plane pod starts once both Secrets exist"
