#!/usr/bin/env bash
# Local backing services for FeedbackHub: PostgreSQL, RabbitMQ and an SMTP capture sink,
# installed with apt when missing and run as plain processes on 127.0.0.1 with all state under
# .local/<profile>/ in the repository. No Docker, no systemd. See docs/running-locally.md.
#
# Usage: scripts/services.sh [--profile dev|test|chaos] COMMAND [COMMAND...]
#   install       apt-install what is missing (postgresql, rabbitmq-server, python3-aiosmtpd, curl, jq, wrk),
#                 create the state folder, initdb once, write the RabbitMQ node config
#   start         start all three (idempotent: running services are left alone) and create database feedbackhub
#   stop          stop all three (PostgreSQL with pg_ctl stop -m fast)
#   status        one line per service, up/down (exit 3 if any is down)
#   env           print `export FEEDBACKHUB_...=...` lines to source
#   start-rabbit  start only RabbitMQ (used by tests after stop-rabbit)
#   stop-rabbit   stop only RabbitMQ and its epmd (tests use it to simulate a broker outage)
#   stop-pg, start-pg, restart-pg    only PostgreSQL (pg_ctl -m fast; outage tests and bench/chaos)
#   stop-smtp, start-smtp            only the SMTP sink (outage tests and bench/chaos)
#   reset-smtp    delete captured mail, the SMTP log and the fault-injection rules
#   reset         stop everything and delete this profile's state (fresh database, broker and mail)
# Several commands run in order: scripts/services.sh --profile test install start status
#
# Ports (override with FH_PG_PORT, FH_RABBIT_PORT, FH_RABBIT_DIST_PORT, FH_EPMD_PORT, FH_SMTP_PORT):
#   dev  : PostgreSQL 25432, AMQP 25672, Erlang dist 25673, epmd 25669, SMTP 2525
#   test : PostgreSQL 26432, AMQP 26672, Erlang dist 26673, epmd 26669, SMTP 2526
#   chaos: PostgreSQL 27432, AMQP 27672, Erlang dist 27673, epmd 27669, SMTP 2527 (bench/chaos; durable like dev)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
SYS_PYTHON=/usr/bin/python3   # Debian's python (python3-aiosmtpd); `python3` on PATH may be pyenv's
RABBIT_BIN=/usr/lib/rabbitmq/bin

PROFILE="${FEEDBACKHUB_PROFILE:-dev}"
COMMANDS=()
while (($#)); do
  case "$1" in
    --profile) PROFILE="${2:?--profile needs a value (dev|test)}"; shift 2 ;;
    --profile=*) PROFILE="${1#--profile=}"; shift ;;
    -h|--help) sed -n '2,25p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "services.sh: unknown option $1" >&2; exit 2 ;;
    *) COMMANDS+=("$1"); shift ;;
  esac
done
if ((${#COMMANDS[@]} == 0)); then
  echo "usage: scripts/services.sh [--profile dev|test|chaos] install|start|stop|status|env|start-rabbit|stop-rabbit|start-pg|stop-pg|restart-pg|start-smtp|stop-smtp|reset-smtp|reset ..." >&2
  exit 2
fi

case "$PROFILE" in
  dev)  d_pg=25432 d_amqp=25672 d_dist=25673 d_epmd=25669 d_smtp=2525 ;;
  test) d_pg=26432 d_amqp=26672 d_dist=26673 d_epmd=26669 d_smtp=2526 ;;
  chaos) d_pg=27432 d_amqp=27672 d_dist=27673 d_epmd=27669 d_smtp=2527 ;;
  *) echo "services.sh: unknown profile '$PROFILE' (use dev, test or chaos)" >&2; exit 2 ;;
esac
STATE="$REPO_ROOT/.local/$PROFILE"
# A port of the profile found taken by another process at `start` is replaced by the first free one after it and the
# choice saved here, so every later command (env, stop, the tests' stop-pg/start-pg) uses the same ports. An FH_*_PORT
# variable always wins and is never replaced: if it is taken, start fails and says by what.
PORTS_FILE="$STATE/ports.env"
saved_port() { if [[ -f "$PORTS_FILE" ]]; then sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" "$PORTS_FILE" | tail -n 1; fi; }
PG_PORT="${FH_PG_PORT:-$(saved_port PG_PORT)}"; PG_PORT="${PG_PORT:-$d_pg}"
RABBIT_PORT="${FH_RABBIT_PORT:-$(saved_port RABBIT_PORT)}"; RABBIT_PORT="${RABBIT_PORT:-$d_amqp}"
RABBIT_DIST_PORT="${FH_RABBIT_DIST_PORT:-$(saved_port RABBIT_DIST_PORT)}"; RABBIT_DIST_PORT="${RABBIT_DIST_PORT:-$d_dist}"
EPMD_PORT="${FH_EPMD_PORT:-$(saved_port EPMD_PORT)}"; EPMD_PORT="${EPMD_PORT:-$d_epmd}"
SMTP_PORT="${FH_SMTP_PORT:-$(saved_port SMTP_PORT)}"; SMTP_PORT="${SMTP_PORT:-$d_smtp}"
# rabbitmqctl's own short-lived Erlang node needs a distribution port too; keep it per profile (set_ctl_dist_range).
set_ctl_dist_range() { CTL_DIST_MIN=$((RABBIT_DIST_PORT + 1)); CTL_DIST_MAX=$((RABBIT_DIST_PORT + 9)); }
set_ctl_dist_range

RABBIT_DIR="$STATE/rabbitmq"
RABBIT_NODE="fh${PROFILE}@localhost"
RABBIT_PIDFILE="$RABBIT_DIR/rabbit.pid"
SMTP_PIDFILE="$STATE/smtp.pid"
SMTP_LOG="$STATE/smtp-sink.log"
PG_DB=feedbackhub

say()  { printf '[services:%s] %s\n' "$PROFILE" "$*" >&2; }
die()  { printf '[services:%s] ERROR: %s\n' "$PROFILE" "$*" >&2; exit 1; }
tail_log() { # file [lines]
  if [[ -f "$1" ]]; then
    printf -- '----- last lines of %s -----\n' "$1" >&2
    tail -n "${2:-30}" "$1" >&2 || true
    printf -- '-----\n' >&2
  fi
}
now_ms() { date +%s%3N; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
pid_from() { if [[ -s "$1" ]]; then tr -dc '0-9' <"$1"; fi; }
cmdline_has() { [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"; }
port_owner() { # "pid 123 (postgres)" when ss can tell, else "unknown"
  local o; o="$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:((.*))' | head -n 1 || true)"
  if [[ "$o" =~ \(\(\"([^\"]+)\",pid=([0-9]+) ]]; then echo "pid ${BASH_REMATCH[2]}, ${BASH_REMATCH[1]}"; else echo "process unknown"; fi
}

# Called when the port in variable $1 is taken by another process, before the service starts. $2: the service's name,
# $3: the FH_* variable that sets it, $4: the profile's default; then the ports the new one must not be (this profile's
# other ports). An explicitly set port stops the start; otherwise the first free port from the default on is used.
move_taken_port() {
  local var=$1 name=$2 env=$3 def=$4 cur=${!1} p x ok
  shift 4
  if [[ -n "${!env:-}" ]]; then die "$name: port $cur ($env) is already in use by another process ($(port_owner "$cur")); stop it or choose another port"; fi
  for ((p = def; p < def + 400; p++)); do
    ok=1
    for x in "$@"; do [[ "$p" == "$x" ]] && { ok=0; break; }; done
    ((ok)) && ! port_open "$p" && break
  done
  ((p < def + 400)) || die "$name: port $cur is in use by another process and no free port was found in $def-$((def + 399)); set $env"
  say "$name: port $cur is in use by another process ($(port_owner "$cur")); using $p instead (saved in $PORTS_FILE; $env overrides)"
  printf -v "$var" '%s' "$p"
  mkdir -p "$STATE"
  { [[ -f "$PORTS_FILE" ]] && grep -v "^$var=" "$PORTS_FILE" || true; echo "$var=$p"; } >"$PORTS_FILE.tmp"
  mv "$PORTS_FILE.tmp" "$PORTS_FILE"
}
# The kernel hands out ports of ip_local_port_range (32768-60999 by default) to outbound connections. A service listening
# on one of them cannot restart while any connection on the machine happens to use that number (EADDRINUSE, even with
# SO_REUSEADDR), which made broker-outage tests fail at random; so every default lies below the range.
warn_ephemeral_ports() {
  local lo hi name port
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || return 0
  for name in PG_PORT RABBIT_PORT RABBIT_DIST_PORT EPMD_PORT SMTP_PORT; do
    port=${!name}
    if ((port >= lo && port <= hi)); then
      say "warning: $name $port lies in the kernel's ephemeral port range ($lo-$hi): a restart can fail when an outbound connection holds that number; choose a port below $lo"
    fi
  done
}
as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------
pg_bin_for() { # highest installed major, or the one matching an existing data dir
  local want="${1:-}" d
  if [[ -n "$want" && -x "/usr/lib/postgresql/$want/bin/pg_ctl" ]]; then echo "/usr/lib/postgresql/$want/bin"; return 0; fi
  [[ -n "$want" ]] && return 1
  # shellcheck disable=SC2012
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$d" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
  return 1
}

missing_packages() {
  local m=()
  pg_bin_for >/dev/null || m+=(postgresql)
  [[ -x "$RABBIT_BIN/rabbitmq-server" ]] || m+=(rabbitmq-server)
  { [[ -x "$SYS_PYTHON" ]] && "$SYS_PYTHON" -c 'import aiosmtpd' 2>/dev/null; } || m+=(python3-aiosmtpd)
  command -v curl >/dev/null || m+=(curl)
  command -v jq >/dev/null || m+=(jq)
  command -v wrk >/dev/null || m+=(wrk)
  command -v runuser >/dev/null || m+=(util-linux)
  echo "${m[*]}"
}

ensure_packages() {
  local missing
  missing="$(missing_packages)"
  if [[ -z "$missing" ]]; then
    say "packages: all present (PostgreSQL $(basename "$(dirname "$(pg_bin_for)")"), RabbitMQ, aiosmtpd, curl, jq, wrk)"
    return 0
  fi
  command -v apt-get >/dev/null || die "missing: $missing, and apt-get is not available. Install them by hand."
  if ((EUID != 0)) && ! command -v sudo >/dev/null; then die "missing: $missing; not root and no sudo"; fi
  say "installing with apt: $missing"
  local t0 log; t0=$(now_ms); log="$(mktemp /tmp/feedbackhub-apt.XXXXXX.log)"
  # shellcheck disable=SC2086
  if ! { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
    tail_log "$log" 40; die "apt-get install failed (full log: $log)"
  fi
  rm -f "$log"
  missing="$(missing_packages)"
  [[ -z "$missing" ]] || die "still missing after apt-get install: $missing"
  say "packages installed in $(( ($(now_ms) - t0) / 1000 )) s"
}

require_packages() {
  local missing; missing="$(missing_packages)"
  [[ -z "$missing" ]] || die "missing packages: $missing. Run: scripts/services.sh --profile $PROFILE install"
}

# ---------------------------------------------------------------------------------------------
# State folder and PostgreSQL location
# ---------------------------------------------------------------------------------------------
ensure_state_dirs() {
  mkdir -p "$STATE" "$RABBIT_DIR" "$STATE/mail" "$STATE/logs"
  chmod 755 "$REPO_ROOT/.local" "$STATE" 2>/dev/null || true
}

# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, which must be able
# to traverse every parent of its data dir. If the repo lives somewhere it cannot (e.g. under
# /root, mode 700), the cluster goes to /tmp/feedbackhub-<profile>-<hash of repo path>.
PG_USER_MODE=self
((EUID == 0)) && PG_USER_MODE=postgres
pg_root() {
  if [[ "$PG_USER_MODE" == self ]]; then echo "$STATE/pg"; return; fi
  if id postgres >/dev/null 2>&1 && runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
    echo "$STATE/pg"
  else
    local h; h="$(printf '%s' "$REPO_ROOT" | sha1sum | cut -c1-10)"
    echo "/tmp/feedbackhub-$PROFILE-$h/pg"
  fi
}
PG_ROOT=""
pg_paths() {
  [[ -n "$PG_ROOT" ]] && return 0
  PG_ROOT="$(pg_root)"
  PG_DATA="$PG_ROOT/data"
  PG_SOCK="$PG_ROOT/run"
  PG_LOG="$PG_ROOT/postgres.log"
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    PG_BIN="$(pg_bin_for "$(cat "$PG_DATA/PG_VERSION")")" ||
      die "the cluster in $PG_DATA is PostgreSQL $(cat "$PG_DATA/PG_VERSION") but those binaries are not installed; run: scripts/services.sh --profile $PROFILE reset"
  else
    PG_BIN="$(pg_bin_for || true)"
  fi
}
as_pg() { # run a PostgreSQL server binary as the right user, from a directory it can read
  if [[ "$PG_USER_MODE" == postgres ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_install() {
  pg_paths
  [[ -n "$PG_BIN" ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin; run install"
  if [[ "$PG_ROOT" != "$STATE/pg" ]]; then
    say "postgres: $STATE is not traversable by user postgres; using $PG_ROOT instead"
    mkdir -p "$(dirname "$PG_ROOT")"; chmod 755 "$(dirname "$PG_ROOT")"
  fi
  mkdir -p "$PG_ROOT"
  [[ "$PG_USER_MODE" == postgres ]] && chown postgres: "$PG_ROOT"
  chmod 700 "$PG_ROOT"
  as_pg mkdir -p "$PG_SOCK"
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    say "postgres: cluster exists ($PG_DATA)"
    return 0
  fi
  local extra=() t0; t0=$(now_ms)
  [[ "$PROFILE" == test ]] && extra+=(--no-sync)
  say "postgres: initdb $PG_DATA"
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 "${extra[@]}" >"$PG_ROOT/initdb.log" 2>&1; then
    tail_log "$PG_ROOT/initdb.log"; die "initdb failed"
  fi
  say "postgres: initdb done in $(( $(now_ms) - t0 )) ms"
}

pg_running() { pg_paths; [[ -n "$PG_BIN" && -f "$PG_DATA/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
pg_ready() { pg_paths; [[ -n "$PG_BIN" ]] && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 2 >/dev/null 2>&1; }
psql_q() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -tA -c "$1"; }

pg_start() {
  pg_install
  if pg_running; then
    say "postgres: already running on 127.0.0.1:$PG_PORT"
  else
    if port_open "$PG_PORT"; then move_taken_port PG_PORT postgres FH_PG_PORT "$d_pg"; fi
    local opts t0
    opts="-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$PG_SOCK' -c max_connections=300"
    if [[ "$PROFILE" == test ]]; then
      opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    t0=$(now_ms)
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o "$opts" start >/dev/null 2>"$PG_ROOT/pg_ctl.err"; then
      cat "$PG_ROOT/pg_ctl.err" >&2 || true; tail_log "$PG_LOG"; die "postgres: failed to start"
    fi
    say "postgres: started on 127.0.0.1:$PG_PORT in $(( $(now_ms) - t0 )) ms (log: $PG_LOG)"
  fi
  for _ in $(seq 1 50); do pg_ready && break; sleep 0.1; done
  pg_ready || { tail_log "$PG_LOG"; die "postgres: not accepting connections on $PG_PORT"; }
  if [[ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]]; then
    psql_q "CREATE DATABASE $PG_DB" >/dev/null || die "postgres: could not create database $PG_DB"
    say "postgres: created database $PG_DB"
  fi
}

pg_stop() {
  pg_paths
  if ! pg_running; then say "postgres: not running"; return 0; fi
  local t0; t0=$(now_ms)
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || { tail_log "$PG_LOG"; die "postgres: stop failed"; }
  say "postgres: stopped in $(( $(now_ms) - t0 )) ms"
}

# A fast restart, as an operator (or a managed service's maintenance) does it: sessions are ended, the server is back.
pg_restart() {
  pg_paths
  if ! pg_running; then pg_start; return; fi
  local t0; t0=$(now_ms)
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -m fast -w -t 60 restart >/dev/null 2>"$PG_ROOT/pg_ctl.err" ||
    { cat "$PG_ROOT/pg_ctl.err" >&2 || true; tail_log "$PG_LOG"; die "postgres: restart failed"; }
  for _ in $(seq 1 50); do pg_ready && break; sleep 0.1; done
  say "postgres: restarted in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ: a self-contained node whose files all live in $RABBIT_DIR (HOME too: the Erlang cookie)
# ---------------------------------------------------------------------------------------------
rabbit_env() {
  export HOME="$RABBIT_DIR"
  export RABBITMQ_NODENAME="$RABBIT_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RABBIT_PORT"
  export RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT"
  export ERL_EPMD_PORT="$EPMD_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
  export RABBITMQ_PID_FILE="$RABBIT_PIDFILE"
  export RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RABBIT_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$RABBIT_DIR/rabbitmq-env.conf"
  export RABBITMQ_CTL_DIST_PORT_MIN="$CTL_DIST_MIN"
  export RABBITMQ_CTL_DIST_PORT_MAX="$CTL_DIST_MAX"
  # Erlang distribution (node <-> CLI) listens on loopback only.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  unset RABBITMQ_ENV_LOADED RABBITMQ_SCRIPTS_DIR
}
rmq() { ( rabbit_env; "$RABBIT_BIN/$1" "${@:2}" ); }

rabbit_install() {
  mkdir -p "$RABBIT_DIR/mnesia" "$RABBIT_DIR/log"
  chmod 700 "$RABBIT_DIR"
  [[ -f "$RABBIT_DIR/enabled_plugins" ]] || echo '[].' >"$RABBIT_DIR/enabled_plugins"
  : >"$RABBIT_DIR/rabbitmq-env.conf"    # everything is passed by environment; this stops /etc/rabbitmq/rabbitmq-env.conf being read
  [[ -f "$RABBIT_DIR/advanced.config" ]] || echo '[].' >"$RABBIT_DIR/advanced.config"
  cat >"$RABBIT_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/services.sh (profile $PROFILE). Listener address/port come from the environment.
loopback_users.guest = true
log.console = false
log.file.level = info
disk_free_limit.absolute = 50MB
EOF
}

rabbit_pid() { local p; p="$(pid_from "$RABBIT_PIDFILE")"; if pid_alive "$p" && cmdline_has "$p" beam; then echo "$p"; fi; }
rabbit_up() { [[ -n "$(rabbit_pid)" ]] && port_open "$RABBIT_PORT"; }
epmd_up() { epmd -port "$EPMD_PORT" -names >/dev/null 2>&1; }

rabbit_start() {
  rabbit_install
  if rabbit_up; then say "rabbitmq: already running ($RABBIT_NODE, 127.0.0.1:$RABBIT_PORT)"; return 0; fi
  local t0 log="$RABBIT_DIR/log/startup.log" p
  t0=$(now_ms)
  p="$(rabbit_pid)"
  if [[ -z "$p" ]]; then
    # An epmd on our port may serve other nodes too; it is only in the way when another checkout's node of this
    # profile has registered our node's name there.
    if epmd_up && epmd -port "$EPMD_PORT" -names 2>/dev/null | grep -q "^name ${RABBIT_NODE%@*} at"; then
      move_taken_port EPMD_PORT "rabbitmq (epmd, node name ${RABBIT_NODE%@*} taken)" FH_EPMD_PORT "$d_epmd" \
        "$RABBIT_PORT" $(seq "$RABBIT_DIST_PORT" "$CTL_DIST_MAX")
    fi
    if port_open "$RABBIT_DIST_PORT"; then
      move_taken_port RABBIT_DIST_PORT "rabbitmq (Erlang distribution)" FH_RABBIT_DIST_PORT "$d_dist" "$RABBIT_PORT" "$EPMD_PORT"
      set_ctl_dist_range
    fi
    if port_open "$RABBIT_PORT"; then
      move_taken_port RABBIT_PORT rabbitmq FH_RABBIT_PORT "$d_amqp" "$EPMD_PORT" $(seq "$RABBIT_DIST_PORT" "$CTL_DIST_MAX")
    fi
    rm -f "$RABBIT_PIDFILE"
    say "rabbitmq: starting $RABBIT_NODE on 127.0.0.1:$RABBIT_PORT"
    ( rabbit_env; cd "$RABBIT_DIR"; exec setsid nohup "$RABBIT_BIN/rabbitmq-server" >>"$log" 2>&1 </dev/null ) &
  else
    say "rabbitmq: process $p exists but AMQP is not answering yet; waiting"
  fi
  if ! rmq rabbitmqctl -n "$RABBIT_NODE" -q wait --timeout 90 "$RABBIT_PIDFILE" >"$RABBIT_DIR/log/wait.log" 2>&1; then
    cat "$RABBIT_DIR/log/wait.log" >&2 || true
    tail_log "$log"; tail_log "$RABBIT_DIR/log/$RABBIT_NODE.log"
    if tail -n 200 "$RABBIT_DIR/log/$RABBIT_NODE.log" 2>/dev/null | grep -q eaddrinuse; then
      say "rabbitmq: a port was in use; sockets on $RABBIT_PORT and $RABBIT_DIST_PORT now: $(ss -tanpH "( sport = :$RABBIT_PORT or sport = :$RABBIT_DIST_PORT )" 2>/dev/null | tr -s ' ' | tr '\n' ';')"
    fi
    die "rabbitmq: did not start"
  fi
  for _ in $(seq 1 100); do port_open "$RABBIT_PORT" && break; sleep 0.1; done
  port_open "$RABBIT_PORT" || { tail_log "$RABBIT_DIR/log/$RABBIT_NODE.log"; die "rabbitmq: AMQP port $RABBIT_PORT not open"; }
  say "rabbitmq: up in $(( $(now_ms) - t0 )) ms (log: $RABBIT_DIR/log/$RABBIT_NODE.log)"
}

rabbit_stop() {
  local t0 p; t0=$(now_ms)
  p="$(rabbit_pid)"
  if [[ -n "$p" ]]; then
    if ! rmq rabbitmqctl -n "$RABBIT_NODE" -q shutdown --timeout 60 >"$RABBIT_DIR/log/shutdown.log" 2>&1; then
      say "rabbitmq: rabbitmqctl shutdown failed; sending SIGTERM to $p"
      cat "$RABBIT_DIR/log/shutdown.log" >&2 || true
      kill -TERM "$p" 2>/dev/null || true
    fi
    for _ in $(seq 1 300); do pid_alive "$p" || break; sleep 0.1; done
    if pid_alive "$p"; then say "rabbitmq: still alive after 30 s; SIGKILL $p"; kill -KILL "$p" 2>/dev/null || true; sleep 0.2; fi
    rm -f "$RABBIT_PIDFILE"
    say "rabbitmq: stopped in $(( $(now_ms) - t0 )) ms"
  else
    say "rabbitmq: not running"
  fi
  if epmd_up; then
    epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do epmd_up || break; sleep 0.1; done
    if epmd_up; then say "rabbitmq: epmd on port $EPMD_PORT did not stop (nodes still registered: $(epmd -port "$EPMD_PORT" -names 2>/dev/null | tr '\n' ' '))"; else say "rabbitmq: epmd on port $EPMD_PORT stopped"; fi
  fi
}

# ---------------------------------------------------------------------------------------------
# SMTP sink (scripts/smtp_sink.py)
# ---------------------------------------------------------------------------------------------
smtp_pid() { local p; p="$(pid_from "$SMTP_PIDFILE")"; if pid_alive "$p" && cmdline_has "$p" smtp_sink.py; then echo "$p"; fi; }
smtp_up() { [[ -n "$(smtp_pid)" ]] && port_open "$SMTP_PORT"; }

smtp_start() {
  mkdir -p "$STATE/mail"
  if smtp_up; then say "smtp: already running on 127.0.0.1:$SMTP_PORT"; return 0; fi
  if [[ -z "$(smtp_pid)" ]] && port_open "$SMTP_PORT"; then move_taken_port SMTP_PORT smtp FH_SMTP_PORT "$d_smtp"; fi
  local t0; t0=$(now_ms)
  if [[ -z "$(smtp_pid)" ]]; then
    rm -f "$SMTP_PIDFILE"
    ( cd "$STATE"; exec setsid nohup "$SYS_PYTHON" "$SCRIPT_DIR/smtp_sink.py" --host 127.0.0.1 --port "$SMTP_PORT" \
        --dir "$STATE" --pid-file "$SMTP_PIDFILE" >>"$SMTP_LOG" 2>&1 </dev/null ) &
  fi
  for _ in $(seq 1 100); do smtp_up && break; sleep 0.05; done
  if ! smtp_up; then tail_log "$SMTP_LOG"; die "smtp: sink did not start on port $SMTP_PORT"; fi
  say "smtp: sink up on 127.0.0.1:$SMTP_PORT in $(( $(now_ms) - t0 )) ms (mail: $STATE/mail/)"
}

smtp_stop() {
  local p; p="$(smtp_pid)"
  if [[ -z "$p" ]]; then say "smtp: not running"; rm -f "$SMTP_PIDFILE"; return 0; fi
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do pid_alive "$p" || break; sleep 0.05; done
  if pid_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
  rm -f "$SMTP_PIDFILE"
  say "smtp: stopped"
}

smtp_reset() {
  mkdir -p "$STATE/mail"
  find "$STATE/mail" -mindepth 1 -delete
  : >"$STATE/smtp-log.jsonl"     # truncate (the sink appends by path, so this is safe while it runs)
  rm -f "$STATE/smtp-rules.json"
  rm -rf "$STATE/smtp-rules.d"
  say "smtp: cleared mail, smtp-log.jsonl, smtp-rules.json and smtp-rules.d/"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # single-quote for sh

cmd_env() {
  printf 'export FEEDBACKHUB_PROFILE=%s\n' "$(q "$PROFILE")"
  printf 'export FEEDBACKHUB_PG=%s\n' "$(q "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$PG_DB")"
  printf 'export FEEDBACKHUB_RABBITMQ=%s\n' "$(q "amqp://guest:guest@127.0.0.1:$RABBIT_PORT/")"
  printf 'export FEEDBACKHUB_SMTP_HOST=%s\n' "$(q 127.0.0.1)"
  printf 'export FEEDBACKHUB_SMTP_PORT=%s\n' "$(q "$SMTP_PORT")"
  printf 'export FEEDBACKHUB_SMTP_DIR=%s\n' "$(q "$STATE/")"
  printf 'export FEEDBACKHUB_SERVICES_SCRIPT=%s\n' "$(q "$SELF")"
}

cmd_status() {
  local down=0
  pg_paths
  if pg_ready; then printf '%-9s up    127.0.0.1:%-6s data=%s\n' postgres "$PG_PORT" "$PG_DATA"
  elif pg_running; then printf '%-9s starting 127.0.0.1:%-6s (process up, not accepting connections)\n' postgres "$PG_PORT"; down=1
  else printf '%-9s down  127.0.0.1:%s\n' postgres "$PG_PORT"; down=1; fi
  if rabbit_up; then printf '%-9s up    127.0.0.1:%-6s node=%s pid=%s\n' rabbitmq "$RABBIT_PORT" "$RABBIT_NODE" "$(rabbit_pid)"
  else printf '%-9s down  127.0.0.1:%s%s\n' rabbitmq "$RABBIT_PORT" "$( [[ -n "$(rabbit_pid)" ]] && echo ' (process up, AMQP not answering)')"; down=1; fi
  if smtp_up; then printf '%-9s up    127.0.0.1:%-6s mail=%smail/ (%s messages)\n' smtp "$SMTP_PORT" "$STATE/" "$(find "$STATE/mail" -maxdepth 1 -name '*.eml' 2>/dev/null | wc -l)"
  else printf '%-9s down  127.0.0.1:%s\n' smtp "$SMTP_PORT"; down=1; fi
  return $((down ? 3 : 0))
}

cmd_reset() {
  pg_paths
  smtp_stop; rabbit_stop; pg_stop
  case "$STATE" in */.local/dev|*/.local/test|*/.local/chaos) rm -rf "$STATE" ;; *) die "refusing to delete $STATE" ;; esac
  case "$PG_ROOT" in /tmp/feedbackhub-*/pg) rm -rf "$(dirname "$PG_ROOT")" ;; esac
  say "reset: deleted $STATE"
}

for c in "${COMMANDS[@]}"; do
  case "$c" in
    install)      ensure_packages; ensure_state_dirs; pg_install; rabbit_install; say "install: done (state: $STATE)" ;;
    start)        require_packages; ensure_state_dirs; warn_ephemeral_ports; pg_start; rabbit_start; smtp_start ;;
    stop)         smtp_stop; rabbit_stop; pg_stop ;;
    status)       cmd_status ;;
    env)          cmd_env ;;
    start-rabbit) require_packages; ensure_state_dirs; rabbit_start ;;
    stop-rabbit)  rabbit_stop ;;
    start-pg)     require_packages; ensure_state_dirs; pg_start ;;
    stop-pg)      pg_stop ;;
    restart-pg)   require_packages; pg_restart ;;
    start-smtp)   require_packages; ensure_state_dirs; smtp_start ;;
    stop-smtp)    smtp_stop ;;
    reset-smtp)   smtp_reset ;;
    reset)        cmd_reset ;;
    *) die "unknown command '$c' (install|start|stop|status|env|start-rabbit|stop-rabbit|start-pg|stop-pg|restart-pg|start-smtp|stop-smtp|reset-smtp|reset)" ;;
  esac
done
