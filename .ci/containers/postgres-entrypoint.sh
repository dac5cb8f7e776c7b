#!/bin/sh
# Entrypoint of the local wfconform/postgres image, with the official image's contract:
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD (empty: trust), POSTGRES_DB
# (default: the user's name), PGDATA. Initialises the cluster on first start only, so a
# restarted container keeps its data; then the server is PID 1 (no su wrapper), so
# `docker stop` reaches it and `docker kill` is a real crash.
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  auth=trust
  pwopt=""
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    auth=scram-sha-256
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    chown postgres /tmp/pwfile
    pwopt=--pwfile=/tmp/pwfile
  fi
  as_pg "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" $pwopt -A "$auth" \
    --auth-local=trust --no-sync -E UTF8 >/dev/null
  rm -f /tmp/pwfile
  echo "host all all all $auth" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | as_pg "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA" \
  -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
