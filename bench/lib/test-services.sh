# The test-profile services and a throwaway database for a bench: sourced by bench/http/run.sh and bench/web/run.sh
# (bench/run-all.sh uses test_services_running only, bench/tools/fk-check-cost.sh pg_port_of).
# The caller defines SERVICES, PG_BIN, PSQL, LOG, DB, say and die; these set PG_PORT, STARTED_SERVICES and DB_CREATED
# and define psql_db. Services already answering are reused and left as they are; ones this run started are stopped.

STARTED_SERVICES=0
DB_CREATED=0

# Whether the test profile's PostgreSQL runs, asked of $SERVICES (its pid files), not by connecting: on a loaded machine a
# connection check can time out, and a run that then believed it had started the services stopped them all at its end,
# other runs' and tests' included. The status is read whole before matching: with pipefail, grep -q leaving at the
# first line made status fail on SIGPIPE, and the check with it (bench/run-all.sh stopped the services every time).
test_services_running() {
  local status
  status="$("$SERVICES" --profile test status 2>/dev/null || true)"
  grep -q "^postgres *up" <<<"$status"
}

# The port of a PostgreSQL connection string (Host=...;Port=N;...).
pg_port_of() { sed -E 's/.*Port=([0-9]+).*/\1/' <<<"$1"; }

# PostgreSQL, RabbitMQ and the SMTP sink of the test profile: reused when PostgreSQL runs, else installed and started.
bench_use_test_services() {
  eval "$("$SERVICES" --profile test env)"
  PG_PORT="$(pg_port_of "$FEEDBACKHUB_PG")"
  if test_services_running; then
    say "PostgreSQL already runs on 127.0.0.1:$PG_PORT: reusing it, will leave the services as they are"
  else
    say "test services not running: starting them (scripts/services.sh --profile test install start)"
    STARTED_SERVICES=1
    "$SERVICES" --profile test install start >"$LOG/services-start.log" 2>&1 ||
      { tail -n 30 "$LOG/services-start.log" >&2; die "could not start the test services"; }
    # Start may have moved a port another process held (scripts/services.sh saves the choice): read them again.
    eval "$("$SERVICES" --profile test env)"
    PG_PORT="$(pg_port_of "$FEEDBACKHUB_PG")"
  fi
}

# psql_db <database> <sql>: one statement, tuples only, stops on error.
psql_db() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -tA -c "$2"; }

# $DB, dropped first if a killed run left it.
bench_create_database() {
  psql_db postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  DB_CREATED=1
  psql_db postgres "CREATE DATABASE $DB" >/dev/null
  say "database $DB created on 127.0.0.1:$PG_PORT"
}

# For the EXIT trap: drops $DB if this run created it, stops the services if this run started them.
bench_release_test_services() {
  if ((DB_CREATED)); then
    "$PSQL" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 &&
      say "database $DB dropped"
  fi
  if ((STARTED_SERVICES)); then
    "$SERVICES" --profile test stop >"$LOG/services-stop.log" 2>&1 && say "test services stopped (this run started them)"
  fi
}
