#!/usr/bin/env bash
# Generates the TLS material the RPC tests use (tests/data/certs): a test CA, a server
# certificate for localhost/127.0.0.1, a client certificate, and a second "untrusted" CA with
# its own client certificate for the refusal cases. Valid for 100 years; the CA keys are
# discarded. Re-run only to rotate; the output is committed.
set -euo pipefail
out="${1:-$(dirname "$0")/../tests/data/certs}"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500

make_ca() {  # name subject
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -subj "/CN=$2" \
    -keyout "$tmp/$1.key" -out "$out/$1.pem" 2>/dev/null
}

make_leaf() {  # name ca subject extension-lines
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$3" \
    -keyout "$out/$1.key" -out "$tmp/$1.csr" 2>/dev/null
  printf '%b\n' "$4" > "$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$out/$2.pem" -CAkey "$tmp/$2.key" \
    -CAcreateserial -days "$days" -sha256 -extfile "$tmp/$1.ext" -out "$out/$1.pem" 2>/dev/null
}

make_ca ca "Rein Test CA"
make_ca other_ca "Untrusted Test CA"
make_leaf server ca "localhost" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
make_leaf client ca "rein-test-client" "extendedKeyUsage=clientAuth"
make_leaf other_client other_ca "untrusted-client" "extendedKeyUsage=clientAuth"
rm -f "$out"/*.srl
echo "test certificates written to $out"
