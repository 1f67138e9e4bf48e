#!/bin/sh
# Generates the Kafka passwords once into the kafka-users volume (compose
# service "kafka-users"): <user>/password for the super user admin, the
# controller listener's controller and one user per service. The broker
# mounts the whole volume; each service mounts only its own directory.
set -eu
for u in admin controller user token inventory order; do
	mkdir -p "/users/$u"
	if [ ! -s "/users/$u/password" ]; then
		head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"/users/$u/password"
	fi
done
# Kafka runs as uid 1000, the services as 65532: each file readable by its user only.
chown -R 1000:1000 /users/admin /users/controller
chmod 0400 /users/admin/password /users/controller/password
for u in user token inventory order; do
	chown 65532:1000 "/users/$u/password"
	chmod 0440 "/users/$u/password"
done
