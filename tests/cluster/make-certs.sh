#!/usr/bin/env bash
# A throw-away test CA and a server certificate for the given IPv4 addresses (SAN), for the
# mock provider inside the cluster topology (tests/e2e/lib/make-certs.sh makes one for
# 127.0.0.1 only).
#   tests/cluster/make-certs.sh DIR IP...  ->  DIR/ca.pem DIR/ca.key DIR/server.pem DIR/server.key
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR IP...}
shift
(($#)) || { echo "usage: make-certs.sh DIR IP..." >&2; exit 2; }
san="IP:127.0.0.1,DNS:localhost"
for ip in "$@"; do san+=",IP:$ip"; done
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 \
  -subj "/CN=codex-relay cluster test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$1" \
  -keyout server.key -out server.csr 2>/dev/null
cat >server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
