# results_file DIR: a new file name for a run's results in DIR, named by the UTC minute (2026-12-05T0103Z.md), with -2,
# -3, ... added when a run of the same minute already saved one (two short runs in one minute overwrote the first).
results_file() {
  local base
  base="$1/$(date -u +%Y-%m-%dT%H%MZ)"
  local path="$base.md" n=2
  while [[ -e "$path" ]]; do path="$base-$n.md"; n=$((n + 1)); done
  printf '%s\n' "$path"
}
