#!/usr/bin/env bash
# Does the cost of a save and a get stay flat as a tenant's data grows? Runs bench/http/run.sh twice, with the
# measured drafts among about 10,000 and about 1,000,000 feedback rows of the same tenant (bench/data/generate.sh adds
# history applications, 90% with feedback), and compares p99 (the median of each run's rounds) and throughput (of the
# round each run kept for its ratio). Goal (issue 15): p99 within 1.5x.
#
#   bench/http/flatness.sh [--duration 20] [--rounds 3] [--small 9000] [--large 1110000]
#
# Takes about 20 minutes with three rounds (generating a million rows is 2 to 4 minutes of it). Prints both runs'
# reports (the large run's BENCH lines renamed save@1m and get@1m) and one line:
#   BENCH flatness save_p99_x=<large/small> get_p99_x=<large/small> save_rps_x=<...> get_rps_x=<...>
# bench/run-all.sh (without --quick) runs it in place of bench/http/run.sh.
set -euo pipefail
DURATION=20 ROUNDS=3 SMALL=9000 LARGE=1110000
while (($#)); do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --small) SMALL="$2"; shift 2 ;;
    --large) LARGE="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "flatness.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in DURATION ROUNDS SMALL LARGE; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "flatness.sh: --${v,,} must be a whole number" >&2; exit 2; }
done
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../lib/median.sh"
STAMP="$(date -u +%Y-%m-%dT%H%MZ)"
declare -A OUT
for size in "$SMALL" "$LARGE"; do
  echo "[flatness] run.sh with $size extra applications" >&2
  OUT[$size]="$("$HERE/run.sh" --duration "$DURATION" --rounds "$ROUNDS" --extra-applications "$size")"
done
field() { # output scenario column(3=req/s) -> the figure of the round run.sh kept (the median ratio)
  awk -F'|' -v s="$2" -v c="$3" 'index($2, s) == 2 { gsub(/[ a-z]/, "", $c); print $c; exit }' <<<"$1"
}
# output column (6 = save p99, 11 = get p99 in run.sh's table of rounds) -> the median over the rounds (middle_line,
# as run.sh ranks rounds): a p99 is one round's tail, and the round kept for its ratio may hold the only slow tail of
# the run (2026-12-03: get's p99 was 31-50 ms in five rounds, 80 ms in one).
p99() {
  awk -F'|' -v c="$2" '$2 ~ /^ [0-9]+ $/ { v = $c; gsub(/[ a-z]/, "", v); print v }' <<<"$1" |
    sort -g | middle_line
}
rows() { sed -nE 's/.*holding ([0-9]+) feedback rows.*/\1/p' <<<"$1"; }
x() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
S="${OUT[$SMALL]}" L="${OUT[$LARGE]}"
REPORT="$HERE/results/flatness-$STAMP.md"
{
  echo "# Flatness: save and get with $(rows "$S") vs $(rows "$L") feedback rows in the tenant, $STAMP"
  echo
  echo "| scenario | rows | req/s (the round kept for its ratio) | p99 ms (median of the rounds) |"
  echo "|---|---|---|---|"
  for name in "save answers" "get application"; do
    c=6; [[ "$name" == get* ]] && c=11
    echo "| $name | $(rows "$S") | $(field "$S" "$name" 3) | $(p99 "$S" $c) |"
    echo "| $name | $(rows "$L") | $(field "$L" "$name" 3) | $(p99 "$L" $c) |"
  done
  echo
  echo "BENCH flatness save_p99_x=$(x "$(p99 "$L" 6)" "$(p99 "$S" 6)") get_p99_x=$(x "$(p99 "$L" 11)" "$(p99 "$S" 11)") save_rps_x=$(x "$(field "$L" "save answers" 3)" "$(field "$S" "save answers" 3)") get_rps_x=$(x "$(field "$L" "get application" 3)" "$(field "$S" "get application" 3)")"
  echo
  echo "- command: \`bench/http/flatness.sh --duration $DURATION --rounds $ROUNDS --small $SMALL --large $LARGE\`; each run's full report is below."
  echo
  echo "## $(rows "$S") rows"; echo; sed -n '/^# FeedbackHub HTTP/,$p' <<<"$S"
  echo
  # The large run's own BENCH lines are renamed (save@1m, get@1m), so the small run's stay the save and get figures
  # of bench/run-all.sh, which runs this script.
  echo "## $(rows "$L") rows"; echo; sed -n '/^# FeedbackHub HTTP/,$p' <<<"$L" | sed -E 's/^BENCH (save|get) /BENCH \1@1m /'
} >"$REPORT"
cat "$REPORT"
echo "[flatness] written to $REPORT" >&2
