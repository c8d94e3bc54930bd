#!/usr/bin/env bash
# Proves docker-compose.yml by running it: builds the images, `docker-compose up`, waits for health, runs the whole
# story over HTTP against the composed stack (deploy/compose-story.py: seed, application, feedback, approval, rejection
# link, candidate request, email captured, audit verify) and tears everything down (containers, network, volumes).
#
# Usage: deploy/compose-check.sh [--keep]      --keep: leave the stack running after the story (tear down by hand:
#                                               docker-compose -p feedbackhub-check down -v)
# Needs a Docker engine and docker-compose (scripts/docker.sh engine installs and starts them on Debian). Without an
# image registry it uses the local images of `scripts/docker.sh images` (built when missing); with one, set
# FEEDBACKHUB_OFFICIAL_IMAGES=1 to use the official images docker-compose.yml names.
# Ports (127.0.0.1 only; override when taken): FEEDBACKHUB_API_PORT 58080, FEEDBACKHUB_MAIL_UI_PORT 58025,
# FEEDBACKHUB_RABBITMQ_UI_PORT 58672. Exit 0 when the story passed; the last line says how long each phase took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KEEP=0
[[ "${1:-}" == --keep ]] && KEEP=1
PROJECT=feedbackhub-check
STATE=.local/compose-check
mkdir -p "$STATE"
say() { printf '[compose-check] %s\n' "$*" >&2; }
now() { date +%s; }
t0=$(now)

scripts/docker.sh engine compose
if [[ "${FEEDBACKHUB_OFFICIAL_IMAGES:-0}" != 1 ]]; then
  scripts/docker.sh images
  eval "$(scripts/docker.sh env)"
  export FEEDBACKHUB_POSTGRES_IMAGE FEEDBACKHUB_RABBITMQ_IMAGE FEEDBACKHUB_MAIL_IMAGE FEEDBACKHUB_DOTNET_RUNTIME_IMAGE FEEDBACKHUB_DOTNET_SDK_IMAGE
fi
export FEEDBACKHUB_API_PORT="${FEEDBACKHUB_API_PORT:-58080}" FEEDBACKHUB_MAIL_UI_PORT="${FEEDBACKHUB_MAIL_UI_PORT:-58025}"
export FEEDBACKHUB_RABBITMQ_UI_PORT="${FEEDBACKHUB_RABBITMQ_UI_PORT:-58672}"
export FEEDBACKHUB_PUBLIC_BASE_URL="http://127.0.0.1:$FEEDBACKHUB_API_PORT"
# Fresh secrets for this run, never the development defaults; passed by environment, never written into an image.
POSTGRES_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
RABBITMQ_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
WEBHOOKS_SECRET_KEY="$(head -c 32 /dev/urandom | base64)"
export POSTGRES_PASSWORD RABBITMQ_PASSWORD WEBHOOKS_SECRET_KEY
compose() { docker-compose -p "$PROJECT" -f docker-compose.yml "$@"; }

teardown() {
  local rc=$?
  if ((rc != 0)); then
    say "failed (exit $rc); container states and the last log lines:"
    compose ps >&2 || true
    compose logs --no-color --tail=40 >&2 || true
  fi
  if ((KEEP && rc == 0)); then
    say "stack left running (--keep): API http://127.0.0.1:$FEEDBACKHUB_API_PORT, mail http://127.0.0.1:$FEEDBACKHUB_MAIL_UI_PORT"
  else
    say "tearing down"
    compose down -v --remove-orphans >/dev/null 2>&1 || true
  fi
}
trap teardown EXIT

say "building the api and worker images"
t_build=$(now)
compose build api worker >"$STATE/build.log" 2>&1 || { tail -n 40 "$STATE/build.log" >&2; exit 1; }
t_build=$(( $(now) - t_build ))
for image in feedbackhub-api:local feedbackhub-worker:local; do
  docker image inspect "$image" --format "$image {{.Size}} {{.Config.User}}" | awk '{ printf "[compose-check] %s: %.0f MB, runs as user %s\n", $1, $2 / 1000000, $3 }' >&2
  user="$(docker image inspect "$image" --format '{{.Config.User}}')"
  [[ -n "$user" && "$user" != root && "$user" != 0 ]] || { say "$image runs as root"; exit 1; }
done

say "docker-compose up"
t_up=$(now)
compose up -d >"$STATE/up.log" 2>&1 || { tail -n 40 "$STATE/up.log" >&2; exit 1; }
healthy() { [[ "$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(compose ps -q "$1")" 2>/dev/null)" == "$2" ]]; }
for _ in $(seq 1 120); do
  if healthy api healthy && healthy worker healthy; then break; fi
  sleep 1
done
healthy api healthy && healthy worker healthy || { say "api and worker not healthy within 120 s"; exit 1; }
t_up=$(( $(now) - t_up ))
say "api and worker healthy after ${t_up} s"

say "seed-demo (the api image's one-shot command)"
compose run --rm -T api seed-demo >"$STATE/seed.log" 2>"$STATE/seed.err" || { cat "$STATE/seed.err" >&2; exit 1; }
t_story=$(now)
python3 deploy/compose-story.py "http://127.0.0.1:$FEEDBACKHUB_API_PORT" "http://127.0.0.1:$FEEDBACKHUB_MAIL_UI_PORT" "$STATE/seed.log"
t_story=$(( $(now) - t_story ))
# No secret in the logs: the generated passwords and key must not appear in any container's output.
# (Read whole before matching: with pipefail, grep -q leaving at its first match made the pipeline fail on SIGPIPE,
# which would have read as "no secret found".)
logs="$(compose logs --no-color 2>/dev/null || true)"
if grep -qF -e "$POSTGRES_PASSWORD" -e "$RABBITMQ_PASSWORD" -e "$WEBHOOKS_SECRET_KEY" <<<"$logs"; then
  say "a secret appears in the containers' logs"; exit 1
fi
say "passed in $(( $(now) - t0 )) s (build ${t_build} s, up to healthy ${t_up} s, story ${t_story} s)"
