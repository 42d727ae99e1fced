#!/bin/sh
# SPDX-License-Identifier: MIT
# Test PKI for the gateway tests, made fresh at test time with the openssl CLI:
#   ca.pem            the CA both gateways trust (everything valid 30 days: past the 14-day expiry warning)
#   gw-a.{pem,key}    gateway A (CN/SAN gw-a), gw-b.{pem,key} gateway B
#   rogue-ca.pem + rogue.{pem,key}   a "gw-a" certificate from another CA (must be refused: unknown CA)
#   wrongname.{pem,key}              signed by the right CA but named gw-x (must be refused: wrong name)
set -eu
dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
mkca() { # name subject
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
		-days 30 -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
mkcert() { # name cn ca
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" > "$1.ext"
	ossl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days 30 \
		-extfile "$1.ext"
	rm -f "$1.csr" "$1.ext"
}
mkca ca "longhaul test CA"
mkca rogue-ca "rogue CA"
mkcert gw-a gw-a ca
mkcert gw-b gw-b ca
mkcert rogue gw-a rogue-ca
mkcert wrongname gw-x ca
chmod 600 ./*.key
