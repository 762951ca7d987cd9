#!/usr/bin/env bash
# Organisation-scale benchmark (see docs/performance.md): a thousand services on one
# screen, on SQLite and on PostgreSQL.
#
#   scripts/bench-org.sh [SCALE] [BACKENDS]
#
# SCALE (default 1) multiplies the organisation of `generate_events ... org`: at 1, 1 000
# services, 200 000 deployments, 1 000 000 changes and 16 000 incidents over the year up
# to 2026-12-01. BACKENDS is a space-separated list, default "sqlite postgres"
# (PostgreSQL at $BENCH_PG, default postgres://postgres@127.0.0.1:5432; the script creates
# and drops the database flowmap_bench_org there).
#
# For each backend and each binary (this tree's, and the baseline's, built from
# $BASELINE_REV, default the merge base with `main`, or the binary $BASELINE_BIN if set;
# BASELINE_REV=none skips it), in the same run:
#   1. `flowmap import` of the generated NDJSON into a fresh database;
#   2. `flowmap dora --format json` for all services (wall time and peak memory);
#   3. `flowmap serve`, then every request of the table: the first request after the
#      start (cold) and the median of 5 more (warm), and the server's resident memory.
# Prints one Markdown table per backend: time with this tree, with the baseline, and
# baseline ÷ this tree. Data and databases go to $BENCH_DIR (default a temporary
# directory, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SCALE="${1:-1}"
BACKENDS="${2:-sqlite postgres}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
PORT="${BENCH_PORT:-7979}"

if [ -n "${BENCH_DIR:-}" ]; then
  WORK="$BENCH_DIR"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi

TARGET="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
cargo build --release --quiet -p flowmap --bin flowmap
cargo build --release --quiet -p flowmap-store --example generate_events
NEW="$TARGET/release/flowmap"

BASELINE_REV="${BASELINE_REV:-$(git merge-base HEAD main)}"
OLD=""
if [ -n "${BASELINE_BIN:-}" ]; then
  cp "$BASELINE_BIN" "$WORK/flowmap-baseline"
  OLD="$WORK/flowmap-baseline"
elif [ "$BASELINE_REV" != "none" ]; then
  # The baseline is built in its own checkout and target directory, so neither build
  # can run the other's binary.
  BASE_SRC="$WORK/baseline-src"
  rm -rf "$BASE_SRC"
  mkdir -p "$BASE_SRC"
  git archive "$BASELINE_REV" | tar -x -C "$BASE_SRC"
  (cd "$BASE_SRC" && CARGO_TARGET_DIR="$TARGET/bench-baseline" \
    cargo build --release --quiet -p flowmap --bin flowmap)
  rm -rf "$BASE_SRC"
  OLD="$TARGET/bench-baseline/release/flowmap"
  cp "$OLD" "$WORK/flowmap-baseline"
  OLD="$WORK/flowmap-baseline"
fi

DATA="$WORK/data"
if [ ! -s "$DATA/incidents.ndjson" ]; then
  "$TARGET/release/examples/generate_events" "$DATA" "$SCALE" org
fi
rows() { wc -l <"$1" | tr -d ' '; }
echo "data: $(rows "$DATA/changes.ndjson") changes, $(rows "$DATA/deployments.ndjson")" \
  "deployments, $(rows "$DATA/incidents.ndjson") incidents" >&2
FILES=("$DATA/deployments.ndjson" "$DATA/changes.ndjson" "$DATA/incidents.ndjson")

# `timed NAME CMD...`: wall seconds and peak RSS (KiB) of CMD in NAME.time.
timed() {
  local name="$1"
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" >"$WORK/$name.out"
}
seconds() { cut -d' ' -f1 "$WORK/$1.time"; }
peak_mib() { awk '{ printf "%.0f", $2 / 1024 }' "$WORK/$1.time"; }

# Milliseconds of one GET.
get_ms() {
  curl -sS -o /dev/null -w '%{time_total}\n' --fail "http://127.0.0.1:$PORT$1" |
    awk '{ printf "%.1f\n", $1 * 1000 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# A cursor near the far end of the deployment list: a day after the data begins
# (`TIME.SOURCE.ID` with source and id in hex; `import` is the source of imported files).
DEEP_CURSOR="1764633600000.696d706f7274."
PATHS=(
  "/"
  "/api/v1/dora"
  "/services/service-0001"
  "/api/v1/deployments?limit=100"
  "/api/v1/deployments?limit=100&cursor=$DEEP_CURSOR"
  "/api/v1/changes?limit=100&cursor=$DEEP_CURSOR"
  "/api/v1/deployments?page=3"
  "/api/v1/changes?page=9999&per_page=100"
  "/api/v1/changes?since=2026-06-01&until=2026-09-01&page=1000&per_page=100"
  "/metrics"
)

# `measure BIN DB TAG`: import, `dora`, then the requests; results in $WORK/TAG.*.
measure() {
  local bin="$1" db="$2" tag="$3"
  timed "$tag.import" "$bin" --db "$db" import "${FILES[@]}"
  timed "$tag.dora" "$bin" --db "$db" dora --format json
  "$bin" --db "$db" serve --addr "127.0.0.1:$PORT" >"$WORK/$tag.serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
    sleep 0.1
  done
  : >"$WORK/$tag.requests"
  for path in "${PATHS[@]}"; do
    local cold warm
    cold=$(get_ms "$path")
    warm=$(for _ in 1 2 3 4 5; do get_ms "$path"; done | median)
    printf '%s\t%s\t%s\n' "$path" "$cold" "$warm" >>"$WORK/$tag.requests"
  done
  awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" >"$WORK/$tag.rss"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

fresh_db() {
  local backend="$1" tag="$2"
  case "$backend" in
    sqlite)
      rm -f "$WORK/$tag.db"*
      echo "$WORK/$tag.db"
      ;;
    postgres)
      psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS flowmap_bench_org" >/dev/null
      psql -q "$PG/postgres" -c "CREATE DATABASE flowmap_bench_org" >/dev/null
      echo "$PG/flowmap_bench_org"
      ;;
  esac
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "—" }'; }
field() { awk -F'\t' -v p="$2" -v c="$3" '$1 == p { print $c }' "$WORK/$1.requests"; }

for backend in $BACKENDS; do
  db=$(fresh_db "$backend" new)
  measure "$NEW" "$db" "$backend.new"
  [ "$backend" = sqlite ] && du -m "$WORK/new.db" | cut -f1 >"$WORK/sqlite.size"
  if [ -n "$OLD" ]; then
    db=$(fresh_db "$backend" old)
    measure "$OLD" "$db" "$backend.old"
  fi
  [ "$backend" = postgres ] &&
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS flowmap_bench_org" >/dev/null

  echo
  echo "### $backend (scale $SCALE; baseline: ${BASELINE_BIN:-$BASELINE_REV})"
  echo
  echo "| what | this tree | baseline | baseline ÷ this tree |"
  echo "| --- | ---: | ---: | ---: |"
  row() {
    local name="$1" new="$2" old="${3:-}"
    if [ -n "$OLD" ]; then
      echo "| $name | $new | $old | $(ratio "${old%% *}" "${new%% *}") |"
    else
      echo "| $name | $new | — | — |"
    fi
  }
  o() { [ -n "$OLD" ] && "$@" || true; }
  row "\`flowmap import\` (s)" "$(seconds "$backend.new.import")" "$(o seconds "$backend.old.import")"
  row "\`flowmap dora --format json\`, all services (s)" "$(seconds "$backend.new.dora")" "$(o seconds "$backend.old.dora")"
  row "… its peak memory (MiB)" "$(peak_mib "$backend.new.dora")" "$(o peak_mib "$backend.old.dora")"
  for path in "${PATHS[@]}"; do
    for which in cold warm; do
      col=$([ $which = cold ] && echo 2 || echo 3)
      row "\`${path/$DEEP_CURSOR/DEEP}\` $which (ms)" "$(field "$backend.new" "$path" $col)" \
        "$(o field "$backend.old" "$path" $col)"
    done
  done
  row "server resident memory after these (MiB)" "$(cat "$WORK/$backend.new.rss")" \
    "$(o cat "$WORK/$backend.old.rss")"
done
