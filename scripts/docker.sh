#!/usr/bin/env bash
# A Docker engine and the local images FeedbackHub's containers need, on a machine without an image registry.
#
# Usage: scripts/docker.sh COMMAND [COMMAND...]
#   engine     make `docker info` answer: when no engine runs, apt-install docker.io if missing and start
#              `dockerd --iptables=false` in the background (no systemd here); log in .local/docker/dockerd.log
#   compose    apt-install docker-compose (1.29, the Python one) if missing
#   images     build the base images below when their tag is missing (cached by tag; `--rebuild` builds them again)
#   postgres-image   only debian:bookworm and postgres:15 (what the tests need)
#   env        print `export ...=...` lines naming the images for docker-compose.yml and the test fixtures
#   status     engine up/down and each image's tag and size
#   stop       stop the dockerd this script started (containers it runs stop with it)
#
# Images (tag prefix feedbackhub-local/, equivalent to the official images named beside them):
#   debian:bookworm     debootstrap --variant=minbase of Debian 12 from the apt mirror this machine uses, imported
#   postgres:15         Debian's postgresql-15; POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB as postgres:15 reads them
#   rabbitmq:3          Debian's rabbitmq-server (3.10); RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS as rabbitmq:3 reads them
#   smtp-catcher:1      aiosmtpd on 1025 with a read-only HTTP API on 8025 (the subset of axllent/mailpit's API we use)
#   dotnet-aspnet:10.0  the ASP.NET Core runtime of this machine's SDK on Debian (mcr.microsoft.com/dotnet/aspnet:10.0)
#   dotnet-sdk:10.0     this machine's .NET SDK on Debian (mcr.microsoft.com/dotnet/sdk:10.0); a build stage only
# On a machine with a registry, skip `images` and let compose and the tests use the official images (their default).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
STATE="$REPO_ROOT/.local/docker"
IMAGES_DIR="$REPO_ROOT/deploy/images"
PREFIX="${FEEDBACKHUB_IMAGE_PREFIX:-feedbackhub-local}"
DOTNET_ROOT_DIR="${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}"
MIRROR="${DEBIAN_MIRROR:-}"
REBUILD=0

say() { printf '[docker] %s\n' "$*" >&2; }
die() { printf '[docker] ERROR: %s\n' "$*" >&2; exit 1; }
now_s() { date +%s; }
as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

engine_up() { docker info >/dev/null 2>&1; }

apt_install() { # packages...
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and apt-get is not available"
  say "apt-get install ${missing[*]}"
  local log; log="$(mktemp /tmp/feedbackhub-apt.XXXXXX.log)"
  { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 \
    || { tail -n 40 "$log" >&2; die "apt-get install failed (log: $log)"; }
}

cmd_engine() {
  if engine_up; then say "engine: up ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"; return 0; fi
  local t0; t0=$(now_s)
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  command -v docker >/dev/null 2>&1 || die "no docker client after installing docker.io"
  mkdir -p "$STATE"
  say "starting dockerd --iptables=false (log: $STATE/dockerd.log)"
  # setsid: the engine outlives this script (and the shell that ran it) until `stop`.
  as_root setsid dockerd --iptables=false --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 < /dev/null &
  local i
  for i in $(seq 1 60); do engine_up && break; sleep 1; done
  engine_up || { tail -n 30 "$STATE/dockerd.log" >&2; die "dockerd did not answer within 60 s"; }
  say "engine: up in $(( $(now_s) - t0 )) s"
}

cmd_compose() { command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose; }

cmd_postgres_image() {
  engine_up || die "no Docker engine answers: run scripts/docker.sh engine first"
  mkdir -p "$STATE"
  build_debian
  build_image postgres postgres:15
}

cmd_stop() {
  local pid; pid="$(cat "$STATE/dockerd.pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    say "stopping dockerd (pid $pid)"; as_root kill -TERM "$pid"
    local i; for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  else say "no dockerd started by this script is running"; fi
}

have_image() { [[ $REBUILD == 0 ]] && docker image inspect "$1" >/dev/null 2>&1; }

apt_mirror() {
  [[ -n "$MIRROR" ]] && { echo "$MIRROR"; return; }
  local m
  m="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
       | grep -oE 'https?://[^ ]+' | grep -v security | head -n1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

build_debian() {
  local tag="$PREFIX/debian:bookworm"
  have_image "$tag" && { say "$tag: cached"; return 0; }
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local t0 dir mirror; t0=$(now_s); mirror="$(apt_mirror)"
  dir="$(mktemp -d /tmp/feedbackhub-debootstrap.XXXXXX)"
  say "$tag: debootstrap --variant=minbase bookworm from $mirror (about 2 minutes)"
  as_root debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -n 30 "$STATE/debootstrap.log" >&2; as_root rm -rf "$dir"; die "debootstrap failed"; }
  # Updates and security fixes as the official debian:bookworm image has them; no caches, docs or man pages.
  as_root tee "$dir/etc/apt/sources.list" >/dev/null <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian*}/debian-security bookworm-security main
SOURCES
  as_root cp "$IMAGES_DIR/debian/dpkg-nodoc" "$dir/etc/dpkg/dpkg.cfg.d/01-nodoc"
  as_root cp "$IMAGES_DIR/debian/apt-slim" "$dir/etc/apt/apt.conf.d/01-slim"
  as_root rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
  as_root tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$tag" >/dev/null
  as_root rm -rf "$dir"
  say "$tag: built in $(( $(now_s) - t0 )) s"
}

# build NAME TAG [extra context dirs as SRC=DEST...]: deploy/images/NAME/ is the context; extras are copied in.
build_image() {
  local name="$1" tag="$PREFIX/$2"; shift 2
  have_image "$tag" && { say "$tag: cached"; return 0; }
  local t0 ctx; t0=$(now_s); ctx="$(mktemp -d /tmp/feedbackhub-ctx.XXXXXX)"
  cp -a "$IMAGES_DIR/$name/." "$ctx/"
  local extra
  for extra in "$@"; do mkdir -p "$ctx/${extra#*=}"; cp -a "${extra%%=*}/." "$ctx/${extra#*=}/"; done
  say "$tag: building (log: $STATE/build-$name.log)"
  DOCKER_BUILDKIT=0 docker build --network host --build-arg "BASE=$PREFIX/debian:bookworm" -t "$tag" "$ctx" \
    >"$STATE/build-$name.log" 2>&1 || { tail -n 30 "$STATE/build-$name.log" >&2; rm -rf "$ctx"; die "building $tag failed"; }
  rm -rf "$ctx"
  say "$tag: built in $(( $(now_s) - t0 )) s"
}

cmd_images() {
  engine_up || die "no Docker engine answers: run scripts/docker.sh engine first"
  mkdir -p "$STATE"
  local t0; t0=$(now_s)
  build_debian
  build_image postgres postgres:15
  build_image rabbitmq rabbitmq:3
  build_image smtp-catcher smtp-catcher:1
  [[ -x "$DOTNET_ROOT_DIR/dotnet" ]] || die "no .NET SDK at $DOTNET_ROOT_DIR (set DOTNET_ROOT)"
  # The runtime image takes only the host and the shared frameworks; the SDK image the whole install.
  local rt; rt="$(mktemp -d /tmp/feedbackhub-dotnet.XXXXXX)"
  cp -a "$DOTNET_ROOT_DIR/dotnet" "$DOTNET_ROOT_DIR/host" "$DOTNET_ROOT_DIR/LICENSE.txt" "$DOTNET_ROOT_DIR/ThirdPartyNotices.txt" "$rt/" 2>/dev/null || true
  mkdir -p "$rt/shared"; cp -a "$DOTNET_ROOT_DIR/shared/Microsoft.NETCore.App" "$DOTNET_ROOT_DIR/shared/Microsoft.AspNetCore.App" "$rt/shared/"
  build_image dotnet-runtime dotnet-aspnet:10.0 "$rt=dotnet"
  rm -rf "$rt"
  # The build stage restores from the NuGet registry this machine reaches, so it trusts the same certificate authorities
  # (a TLS-inspecting egress proxy's CA included). The SDK image is a build tool: it is never run or shipped.
  local cas; cas="$(mktemp -d /tmp/feedbackhub-cas.XXXXXX)"
  cp /usr/local/share/ca-certificates/*.crt "$cas/" 2>/dev/null || true
  build_image dotnet-sdk dotnet-sdk:10.0 "$DOTNET_ROOT_DIR=dotnet" "$cas=extra-ca"
  rm -rf "$cas"
  say "images ready in $(( $(now_s) - t0 )) s"
  cmd_status_images
}

cmd_env() {
  cat <<ENV
export FEEDBACKHUB_POSTGRES_IMAGE=$PREFIX/postgres:15
export FEEDBACKHUB_RABBITMQ_IMAGE=$PREFIX/rabbitmq:3
export FEEDBACKHUB_MAIL_IMAGE=$PREFIX/smtp-catcher:1
export FEEDBACKHUB_DOTNET_RUNTIME_IMAGE=$PREFIX/dotnet-aspnet:10.0
export FEEDBACKHUB_DOTNET_SDK_IMAGE=$PREFIX/dotnet-sdk:10.0
ENV
}

cmd_status_images() {
  local t
  for t in debian:bookworm postgres:15 rabbitmq:3 smtp-catcher:1 dotnet-aspnet:10.0 dotnet-sdk:10.0; do
    docker image inspect "$PREFIX/$t" --format "$PREFIX/$t {{.Size}}" 2>/dev/null \
      | awk '{ printf "  %-40s %6.0f MB\n", $1, $2 / 1000000 }' >&2 || say "  $PREFIX/$t: missing"
  done
}

cmd_status() {
  if engine_up; then say "engine: up"; cmd_status_images; else say "engine: down"; return 3; fi
}

(($#)) || { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
for a in "$@"; do [[ "$a" == --rebuild ]] && REBUILD=1; done
for a in "$@"; do
  case "$a" in
    engine) cmd_engine ;;
    compose) cmd_compose ;;
    postgres-image) cmd_postgres_image ;;
    images) cmd_images ;;
    env) cmd_env ;;
    status) cmd_status ;;
    stop) cmd_stop ;;
    --rebuild) ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command $a" ;;
  esac
done
