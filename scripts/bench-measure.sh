#!/usr/bin/env bash
# End-to-end benchmark of a measured map (see docs/performance.md, "Measured maps").
#
#   scripts/bench-measure.sh [SCALE]
#
# Generates one service with 1 000 000 changes, 100 000 deployments, 100 000 builds and
# 5 000 incidents (times SCALE), imports them into a fresh SQLite database, then times,
# through the release binary and on that same database, alternately:
#   - the baseline: `flowmap dora --service service-00` over the two years of data;
#   - `flowmap map measure` of a map binding five steps to seven lifecycle points (pull
#     request, build, deployment) with `ca: change_fail_rate`, same service and window.
# Each is run RUNS times (default 5); prints a Markdown table of the median wall times,
# CPU and peak memory, and the ratio of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE="${1:-1}"
RUNS="${RUNS:-5}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
if [ ! -x /usr/bin/time ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

cargo build --release --quiet -p flowmap --bin flowmap
cargo build --release --quiet -p flowmap-store --example generate_events
TARGET="${CARGO_TARGET_DIR:-target}/release"
FLOWMAP="$TARGET/flowmap"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data"
DB="$WORK/flowmap.db"

"$TARGET/examples/generate_events" "$DATA" "$SCALE" 1
"$FLOWMAP" --db "$DB" import "$DATA/deployments.ndjson" "$DATA/changes.ndjson" \
  "$DATA/builds.ndjson" "$DATA/incidents.ndjson" >&2

cat >"$WORK/delivery.yaml" <<'MAP'
name: service-00 delivery
service: service-00
steps:
  - id: code
    process: 30m
    measure: { process: committed..pr_opened }
  - id: review
    process: 1h
    measure: { process: pr_opened..merged }
  - id: build
    process: 15m
    measure: { wait: merged..build_started, process: build_started..build_finished }
  - id: release
    wait: 10m
    process: 5m
    measure: { wait: build_finished..deploy_started, process: deploy_started..deployed, ca: change_fail_rate }
MAP
"$FLOWMAP" map check "$WORK/delivery.yaml" >&2

WINDOW=(--since 2024-01-01 --until 2026-01-01)
# `timed NAME RUN CMD...`: runs CMD, recording wall seconds, peak RSS (KiB) and user and
# system CPU seconds in NAME.RUN.time.
timed() {
  local name="$1" run="$2"
  shift 2
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/$name.$run.time" "$@" >"$WORK/$name.out"
}
for run in $(seq 1 "$RUNS"); do
  timed dora "$run" "$FLOWMAP" --db "$DB" dora --service service-00 "${WINDOW[@]}"
  timed measure "$run" "$FLOWMAP" --db "$DB" map measure "$WORK/delivery.yaml" "${WINDOW[@]}"
done
head -n 3 "$WORK/measure.out" >&2

# `median NAME FIELD`: the median over the runs of field FIELD (1 wall, 2 RSS, 3 user,
# 4 system; 5 = user + system).
median() {
  for f in "$WORK/$1".*.time; do
    awk -v k="$2" '{ print (k == 5 ? $3 + $4 : $k) }' "$f"
  done | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
all() { for f in "$WORK/$1".*.time; do cut -d' ' -f1 "$f"; done | paste -sd' '; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

cat <<TABLE
| command (service-00, 2024–2025) | runs, wall (s) | median wall (s) | median CPU (s) | peak memory (MiB) | wall ÷ baseline |
| --- | --- | ---: | ---: | ---: | ---: |
| baseline: \`flowmap dora\` | $(all dora) | $(median dora 1) | $(median dora 5) | $(mib "$(median dora 2)") | 1.00 |
| \`flowmap map measure\` | $(all measure) | $(median measure 1) | $(median measure 5) | $(mib "$(median measure 2)") | $(ratio "$(median measure 1)" "$(median dora 1)") |
TABLE
