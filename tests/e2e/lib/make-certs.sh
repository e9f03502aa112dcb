#!/usr/bin/env bash
# Makes a throw-away test CA and a server certificate for 127.0.0.1 / localhost (SAN), and for
# any further IPv4 addresses given (tests/cluster/run.sh: the mock provider's address there).
#   lib/make-certs.sh DIR [IP...]  ->  DIR/ca.pem DIR/ca.key DIR/server.pem DIR/server.key
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR [IP...]}
shift
san="IP:127.0.0.1,DNS:localhost"
for ip in "$@"; do san+=",IP:$ip"; done
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 \
  -subj "/CN=codex-relay e2e test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
  -keyout server.key -out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
