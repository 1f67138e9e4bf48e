#!/bin/sh
# Generates the Ed25519 JWT key pair once into the jwt volume (compose
# service "jwt-keys"); the user service signs with private.pem, every service
# verifies with public.pem. Both readable by the services' uid 65532 only.
set -eu
dir=/jwt
if [ ! -s "$dir/private.pem" ]; then
	apk add --no-cache openssl >/dev/null
	openssl genpkey -algorithm ED25519 -out "$dir/private.pem"
	openssl pkey -in "$dir/private.pem" -pubout -out "$dir/public.pem"
fi
chown 65532:65532 "$dir/private.pem" "$dir/public.pem"
chmod 0400 "$dir/private.pem"
chmod 0444 "$dir/public.pem"
