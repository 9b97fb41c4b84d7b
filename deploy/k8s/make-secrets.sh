#!/usr/bin/env bash
# Makes the files of the run's two Secrets, for a namespace:
#   deploy/k8s/make-secrets.sh NAMESPACE OUT_DIR
#   OUT_DIR/tls/{ca.crt,tls.crt,tls.key}        → Secret rein-tls
#   OUT_DIR/auth/{worker,operator,monitor}-token, the matching -verifier files and
#   feedback-admin-token                        → Secret rein-auth
# (plus OUT_DIR/ca.key, the CA's key: keep it off the cluster). The certificate names every
# address a Rein process is dialed at in deploy/k8s (tests/deploy/k8s checks it against the
# rendered manifests):
#   rein-coordinator                the coordinator's Service (workers' --coordinator)
#   rein-feedback                   rein-feedback's Service (its --advertise_host)
#   *.rein-workers.NAMESPACE.svc    every worker pod (REIN_ADVERTISE_HOST), learner ranks too
#   localhost                       the probes (`reinctl health localhost:50051`)
# gRPC matches a wildcard only against a name with at least two labels after it, hence the
# namespace in the workers' names. Needs openssl.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 NAMESPACE OUT_DIR" >&2
  exit 2
fi
namespace="$1"
out="$2"
days="${REIN_CERT_DAYS:-365}"
mkdir -p "$out/tls" "$out/auth"
umask 077

openssl req -x509 -newkey rsa:3072 -nodes -days "$days" -subj "/CN=rein-ca-$namespace" \
  -keyout "$out/ca.key" -out "$out/tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=rein.$namespace" \
  -keyout "$out/tls/tls.key" -out "$out/tls.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
  "DNS:rein-coordinator,DNS:rein-feedback,DNS:*.rein-workers.$namespace.svc,DNS:localhost" \
  > "$out/san.ext"
openssl x509 -req -in "$out/tls.csr" -CA "$out/tls/ca.crt" -CAkey "$out/ca.key" \
  -CAcreateserial -days "$days" -extfile "$out/san.ext" -out "$out/tls/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/san.ext" "$out/tls/ca.srl" "$out/ca.srl"

# Bearer tokens, one per role (README "Credentials and roles"): worker (every worker process),
# operator (the coordinator and people who run reinctl), monitor (read-only status). Each has a
# verifier, "sha256:" and the token's SHA-256 in hex (what `reinctl auth verifier` prints):
# pods that must accept a role's calls without being able to make them mount that instead.
# And rein-feedback's admin token (campaigns; the coordinator and `reinctl feedback`).
for role in worker operator monitor; do
  token=$(openssl rand -hex 32)
  printf '%s\n' "$token" > "$out/auth/$role-token"
  printf 'sha256:%s\n' "$(printf '%s' "$token" | openssl dgst -sha256 -r | cut -d' ' -f1)" \
    > "$out/auth/$role-verifier"
done
openssl rand -hex 32 > "$out/auth/feedback-admin-token"
echo "wrote $out/tls and $out/auth (CA key: $out/ca.key)"
