#!/bin/sh
# Entrypoint of the local wfconform/rabbitmq image, with the official image's contract:
# RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS (default guest/guest, allowed from any
# address), AMQP on 5672. The node runs as PID 1 under the rabbitmq user (no su
# wrapper), so `docker stop` stops it cleanly and `docker kill` is a real crash.
set -eu
mkdir -p /etc/rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
loopback_users = none
listeners.tcp.default = 5672
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
log.console = true
log.file = false
CONF
echo '[].' > /etc/rabbitmq/enabled_plugins
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
export HOME=/var/lib/rabbitmq
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
