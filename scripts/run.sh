#!/usr/bin/env bash
# THE run command: the whole FeedbackHub stack on this machine, no Docker needed.
#   PostgreSQL, RabbitMQ and an SMTP capture sink (scripts/services.sh, profile dev, loopback only,
#   state in .local/dev/), EF migrations, a demo tenant with API keys, the API and the worker.
#
# Usage: scripts/run.sh [--no-build]
#   --no-build   skip `dotnet build` (use the existing Release build)
#   FH_API_PORT  API port (default 5080); FH_PG_PORT etc. move the backing services (see services.sh)
# A crashed API or worker is started again (with a line saying so); one that crashes 5 times within 2 minutes stops the
# stack. Ctrl-C stops the API, the worker and the dev services.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
SVC="$ROOT/scripts/services.sh"
API_PORT="${FH_API_PORT:-5080}"
BASE_URL="http://127.0.0.1:$API_PORT"
BUILD=1
for a in "$@"; do
  case "$a" in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done

STATE="$ROOT/.local/dev"
LOGS="$STATE/logs"
API_DLL="$ROOT/src/Api/bin/Release/net10.0/FeedbackHub.Api.dll"
WORKER_DLL="$ROOT/src/Worker/bin/Release/net10.0/FeedbackHub.Worker.dll"
LOCK="$STATE/run.pid"

say() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }
tail_log() { [[ -f "$1" ]] && { printf -- '----- last lines of %s -----\n' "$1" >&2; tail -n "${2:-40}" "$1" >&2; printf -- '-----\n' >&2; }; return 0; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- preconditions -------------------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
  cat >&2 <<'EOF'
[run] dotnet was not found on PATH. FeedbackHub needs the .NET 10 SDK (see global.json). On Debian/Ubuntu:
        curl -fsSL https://dot.net/v1/dotnet-install.sh -o /tmp/dotnet-install.sh
        bash /tmp/dotnet-install.sh --channel 10.0 --install-dir "$HOME/.dotnet"
        export PATH="$HOME/.dotnet:$PATH" DOTNET_ROOT="$HOME/.dotnet"
      (or the distribution package, e.g. `apt-get install dotnet-sdk-10.0` where Microsoft's feed is configured),
      then run scripts/run.sh again.
EOF
  exit 2
fi

mkdir -p "$LOGS"
if [[ -s "$LOCK" ]]; then
  other="$(cat "$LOCK")"
  if kill -0 "$other" 2>/dev/null && tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | grep -q 'run.sh'; then
    die "scripts/run.sh is already running (pid $other): use it at $BASE_URL, or press Ctrl-C in its terminal first."
  fi
fi
if port_open "$API_PORT"; then
  die "something is already listening on 127.0.0.1:$API_PORT (an API left over from an earlier run?). Stop it (e.g. \`ss -ltnp | grep :$API_PORT\` to find it) or use FH_API_PORT=5081 scripts/run.sh"
fi
echo $$ >"$LOCK"

# --- cleanup on Ctrl-C / exit ----------------------------------------------------------------------
API_PID="" WORKER_PID="" CLEANED=0
# shellcheck disable=SC2317  # functions below are called from traps
stop_pid() { # pid name
  local p="$1"
  [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then say "$2 did not stop within 10 s; killing it"; kill -KILL "$p" 2>/dev/null || true; fi
  say "$2 stopped"
}
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  ((CLEANED)) && return 0
  CLEANED=1
  trap - INT TERM
  echo >&2
  say "stopping..."
  stop_pid "$API_PID" api
  stop_pid "$WORKER_PID" worker
  "$SVC" --profile dev stop || true
  rm -f "$LOCK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- backing services ----------------------------------------------------------------------------
"$SVC" --profile dev install start
eval "$("$SVC" --profile dev env)"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export ConnectionStrings__Postgres="$FEEDBACKHUB_PG"
export ConnectionStrings__RabbitMq="$FEEDBACKHUB_RABBITMQ"
export Smtp__Host="$FEEDBACKHUB_SMTP_HOST"
export Smtp__Port="$FEEDBACKHUB_SMTP_PORT"
export Smtp__Security=None   # the capture sink speaks plain SMTP (the default would require STARTTLS)
export FeedbackHub__PublicBaseUrl="$BASE_URL"
# Webhook secrets are sealed with this key (AES-256-GCM); the API and the worker need the same one. Generated once.
WEBHOOK_KEY_FILE="$STATE/webhook-secret.key"
if [[ ! -s "$WEBHOOK_KEY_FILE" ]]; then
  (umask 077 && head -c 32 /dev/urandom | base64 >"$WEBHOOK_KEY_FILE")
  say "generated the webhook secret key ($WEBHOOK_KEY_FILE)"
fi
chmod 600 "$WEBHOOK_KEY_FILE"
Webhooks__SecretKey="$(cat "$WEBHOOK_KEY_FILE")"
export Webhooks__SecretKey
export ASPNETCORE_ENVIRONMENT=Development
export DOTNET_ENVIRONMENT=Development

# --- build ---------------------------------------------------------------------------------------
if ((BUILD)); then
  say "building (dotnet build -c Release FeedbackHub.sln; log: $LOGS/build.log)"
  t0=$(date +%s)
  if ! MSBUILDTERMINALLOGGER=off dotnet build -c Release FeedbackHub.sln -nologo -v quiet >"$LOGS/build.log" 2>&1; then
    tail_log "$LOGS/build.log" 60
    die "build failed"
  fi
  say "build ok in $(( $(date +%s) - t0 )) s"
fi
[[ -f "$API_DLL" ]] || die "$API_DLL not found (run without --no-build)"
[[ -f "$WORKER_DLL" ]] || die "$WORKER_DLL not found (run without --no-build)"

# --- one-shot commands ---------------------------------------------------------------------------
say "applying migrations (FeedbackHub.Api.dll migrate)"
if ! dotnet "$API_DLL" migrate >"$LOGS/migrate.log" 2>&1; then tail_log "$LOGS/migrate.log"; die "migrate failed"; fi
say "migrations applied"

say "seeding the demo tenant (FeedbackHub.Api.dll seed-demo)"
if ! dotnet "$API_DLL" seed-demo >"$LOGS/seed.log" 2>&1; then tail_log "$LOGS/seed.log"; die "seed-demo failed"; fi
SEED_OUT="$(cat "$LOGS/seed.log")"
# The admin key is the longest key-looking token on the first line that mentions "admin".
ADMIN_KEY="$(grep -i -m1 'admin' <<<"$SEED_OUT" | grep -Eo '[A-Za-z0-9_.~+/=-]{20,}' | awk '{ print length, $0 }' | sort -rn | head -n1 | cut -d' ' -f2- || true)"
[[ -n "$ADMIN_KEY" ]] || ADMIN_KEY="<admin key>"

# --- api and worker ------------------------------------------------------------------------------
for f in api worker; do [[ -f "$LOGS/$f.log" ]] && mv -f "$LOGS/$f.log" "$LOGS/$f.prev.log"; done
say "starting api on $BASE_URL (log: $LOGS/api.log) and worker (log: $LOGS/worker.log)"
start_api() {
  dotnet "$API_DLL" --urls "$BASE_URL" > >(trap '' INT; tee -a "$LOGS/api.log" | sed -u 's/^/[api]    /') 2>&1 &
  API_PID=$!
}
start_worker() {
  dotnet "$WORKER_DLL" > >(trap '' INT; tee -a "$LOGS/worker.log" | sed -u 's/^/[worker] /') 2>&1 &
  WORKER_PID=$!
}
start_api
start_worker

ready=0
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null --max-time 2 "$BASE_URL/health/ready" 2>/dev/null; then ready=1; break; fi
  kill -0 "$API_PID" 2>/dev/null || { tail_log "$LOGS/api.log"; die "the API exited during startup"; }
  kill -0 "$WORKER_PID" 2>/dev/null || { tail_log "$LOGS/worker.log"; die "the worker exited during startup"; }
  sleep 0.5
done
((ready)) || { tail_log "$LOGS/api.log"; die "$BASE_URL/health/ready did not answer 2xx within 60 s"; }

# --- banner --------------------------------------------------------------------------------------
cat <<EOF

================================================================================
 FeedbackHub is running
   Web app         $BASE_URL/app/   (sign in as a demo person below)
   Swagger UI      $BASE_URL/swagger
   Health          $BASE_URL/health/ready
   Demo tenant     "Acme Robotics"; API keys and people's passwords (new on every run):
$(while IFS= read -r l; do printf '                   %s\n' "$l"; done <<<"$SEED_OUT")
   Captured email  $STATE/mail/   (one .eml file per message; open with any mail client)
                   SMTP log: $STATE/smtp-log.jsonl
   Logs            $LOGS/api.log, $LOGS/worker.log
   Try it:
     curl -X POST $BASE_URL/v1/diagnostics/test-email \\
          -H "Authorization: Bearer $ADMIN_KEY" \\
          -H "Content-Type: application/json" -d '{"to":"you@example.com"}'
     ls -lt $STATE/mail/ | head

 Ctrl-C stops everything (API, worker, PostgreSQL, RabbitMQ, SMTP sink).
================================================================================

EOF

# Run until Ctrl-C. A process that exits is started again, as a process manager would: the stack survives the faults
# the product does (a killed worker's attempts are recovered, the API is stateless). One that keeps crashing stops it.
declare -A CRASHES=([api]="" [worker]="")
restart() { # name code
  local now recent=() t
  now=$(date +%s)
  for t in ${CRASHES[$1]}; do ((now - t < 120)) && recent+=("$t"); done
  recent+=("$now")
  CRASHES[$1]="${recent[*]}"
  if ((${#recent[@]} >= 5)); then
    tail_log "$LOGS/$1.log"
    die "the $1 exited $((${#recent[@]})) times within 2 minutes (last code $2); stopping the stack"
  fi
  say "the $1 exited (code $2); starting it again (log: $LOGS/$1.log)"
  sleep 1
  "start_$1"
}
while true; do
  set +e
  wait -n "$API_PID" "$WORKER_PID"
  code=$?
  set -e
  kill -0 "$API_PID" 2>/dev/null || restart api "$code"
  kill -0 "$WORKER_PID" 2>/dev/null || restart worker "$code"
done
