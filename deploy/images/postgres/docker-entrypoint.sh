#!/bin/bash
# First start: initdb, the superuser's password, the database, all over the Unix socket only; then the server on TCP.
# So nothing can connect over TCP (and pg_isready -h localhost fails) until the database is there.
set -euo pipefail
[[ "${1:-}" == -* ]] && set -- postgres "$@"
if [[ "${1:-}" == postgres && ! -s "$PGDATA/PG_VERSION" ]]; then
  user="${POSTGRES_USER:-postgres}" db="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$auth" != trust ]]; then
    echo "error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2; exit 1
  fi
  pwfile="$(mktemp)"; printf '%s' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$auth" >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /var/run/postgresql" start >/dev/null
  if [[ "$db" != postgres ]]; then
    psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$user" -d postgres -q -c "CREATE DATABASE \"$db\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
