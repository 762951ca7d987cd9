#!/usr/bin/env bash
# Import and load benchmark for the event store (see docs/performance.md).
#
#   scripts/bench-import.sh [SCALE]
#
# Generates 1 000 000 changes, 100 000 deployments and 5 000 incidents (times SCALE) as
# NDJSON and as CSV, then in the same run:
#   1. `flowmap import` of the NDJSON files into a fresh SQLite database (timed, with
#      peak memory), and a second import of the same files (all unchanged);
#   2. the baseline: sqlite3's own `.import` of the same rows from CSV into a fresh
#      database (plain tables, no keys or indexes);
#   3. loading one service's year back through the store, and the baseline: sqlite3
#      selecting the same rows from the same database.
# Prints a Markdown table of times, peak memory and ratios to the baselines.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE="${1:-1}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
if ! command -v sqlite3 >/dev/null || [ ! -x /usr/bin/time ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 time >/dev/null
fi

cargo build --release --quiet -p flowmap --bin flowmap
cargo build --release --quiet -p flowmap-store --example generate_events --example load_service_year
TARGET="${CARGO_TARGET_DIR:-target}/release"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data"

"$TARGET/examples/generate_events" "$DATA" "$SCALE"
rows() { wc -l <"$1" | tr -d ' '; }
echo "data: $(rows "$DATA/changes.ndjson") changes, $(rows "$DATA/deployments.ndjson") deployments," \
  "$(rows "$DATA/incidents.ndjson") incidents; $(du -sh "$DATA" | cut -f1) of NDJSON + CSV" >&2

# `timed NAME CMD...`: runs CMD, recording wall seconds, peak RSS (KiB) and user and
# system CPU seconds in NAME.time.
timed() {
  local name="$1"
  shift
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/$name.time" "$@" >"$WORK/$name.out"
}
seconds() { cut -d' ' -f1 "$WORK/$1.time"; }
cpu() { awk '{ printf "%.2f", $3 + $4 }' "$WORK/$1.time"; }
peak_mib() { awk '{ printf "%.0f", $2 / 1024 }' "$WORK/$1.time"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

DB="$WORK/flowmap.db"
FILES=("$DATA/deployments.ndjson" "$DATA/changes.ndjson" "$DATA/incidents.ndjson")
timed import "$TARGET/flowmap" --db "$DB" import "${FILES[@]}"
cat "$WORK/import.out" >&2
timed reimport "$TARGET/flowmap" --db "$DB" import "${FILES[@]}"
cat "$WORK/reimport.out" >&2

timed baseline sqlite3 "$WORK/baseline.db" \
  ".import --csv $DATA/deployments.csv deployments" \
  ".import --csv $DATA/changes.csv changes" \
  ".import --csv $DATA/incidents.csv incidents"

SERVICE=service-03
FROM_MS=1735689600000 # 2025-01-01T00:00:00Z
TO_MS=1767225600000   # 2026-01-01T00:00:00Z
timed load "$TARGET/examples/load_service_year" "$DB" "$SERVICE" 2025
cat "$WORK/load.out" >&2
timed load_baseline sqlite3 "$DB" \
  "SELECT * FROM deployments WHERE service = '$SERVICE' AND environment = 'production' AND finished_at >= $FROM_MS AND finished_at < $TO_MS;" \
  "SELECT * FROM changes WHERE service = '$SERVICE' AND committed_at >= $FROM_MS AND committed_at < $TO_MS;" \
  "SELECT * FROM incidents WHERE service = '$SERVICE' AND started_at >= $FROM_MS AND started_at < $TO_MS;"
echo "baseline selected $(wc -l <"$WORK/load_baseline.out" | tr -d ' ') rows" >&2

cat <<EOF
| what | wall (s) | CPU (s) | peak memory (MiB) | wall ÷ baseline |
| --- | ---: | ---: | ---: | ---: |
| \`flowmap import\` (NDJSON, fresh database) | $(seconds import) | $(cpu import) | $(peak_mib import) | $(ratio "$(seconds import)" "$(seconds baseline)") |
| \`flowmap import\` again (all unchanged) | $(seconds reimport) | $(cpu reimport) | $(peak_mib reimport) | $(ratio "$(seconds reimport)" "$(seconds baseline)") |
| baseline: \`sqlite3 .import\` (CSV, no keys or indexes) | $(seconds baseline) | $(cpu baseline) | $(peak_mib baseline) | 1.0 |
| load one service's year (\`Store::load\`, process total) | $(seconds load) | $(cpu load) | $(peak_mib load) | $(ratio "$(seconds load)" "$(seconds load_baseline)") |
| baseline: \`sqlite3\` selecting the same rows | $(seconds load_baseline) | $(cpu load_baseline) | $(peak_mib load_baseline) | 1.0 |
EOF
