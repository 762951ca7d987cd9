#!/usr/bin/env bash
# Benchmarks a full `flowmap ingest git` (walk, decode, link and store in SQLite) against
# the baseline `git log --branches --tags --format='%H %P %at %ct %ae %s'` on the same
# repository, and reports the ratio of the medians of RUNS runs each (the target is at
# most 1.0: as fast as git itself; lower is better).
#
# usage: scripts/bench-git-ingest.sh [REPO] [RUNS]
#
# Without REPO, a synthetic repository of $COMMITS commits (default 1000000) is built with
# scripts/make-synthetic-repo.sh in a temporary directory. The release binary is built
# first unless $FLOWMAP points at one. Peak memory (max RSS) of each ingest is reported too.
#
# Last, SQLite's own share, as a floor: the sqlite3 shell inserts the same change rows into
# a table with the same key and indexes, with the store's page cache and WAL settings (no
# Rust, no git), and each step is timed: the insert, the commit, the checkpoint.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v sqlite3 >/dev/null || [ ! -x /usr/bin/time ] || ! command -v bc >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo=sudo; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 time bc >/dev/null
fi
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${FLOWMAP:-}" ]; then
    cargo build --release --quiet -p flowmap --manifest-path "$root/Cargo.toml"
    FLOWMAP=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/flowmap
fi

repo=${1:-}
if [ -z "$repo" ]; then
    repo=$work/repo
    "$root/scripts/make-synthetic-repo.sh" "$repo" "${COMMITS:-1000000}"
fi
commits=$(git -C "$repo" rev-list --count --branches --tags)

# Seconds, with nanoseconds, that "$@" takes.
elapsed() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

git_log() {
    git -C "$repo" log --branches --tags --format='%H %P %at %ct %ae %s' >/dev/null
}

ingest() {
    rm -f "$work"/bench.db*
    /usr/bin/time -f %M -o "$work/rss" \
        "$FLOWMAP" --db "$work/bench.db" ingest git "$repo" --deploy-tags 'v*' >"$work/summary"
}

# Warm the page cache so that both sides read the repository from memory.
git_log
for run in $(seq "$runs"); do
    elapsed git_log >>"$work/git"
    elapsed ingest >>"$work/flowmap"
    cat "$work/rss" >>"$work/rss-all"
    echo "run $run: git log $(tail -1 "$work/git")s, flowmap $(tail -1 "$work/flowmap")s ($(cat "$work/summary"))"
done

git_median=$(median <"$work/git")
flowmap_median=$(median <"$work/flowmap")
rss_mib=$(($(sort -n "$work/rss-all" | tail -1) / 1024))
printf 'commits: %s\ngit log median: %.2fs\nflowmap ingest median: %.2fs\nratio: %.2f\npeak memory: %s MiB\n' \
    "$commits" "$git_median" "$flowmap_median" "$(echo "$flowmap_median / $git_median" | bc -l)" "$rss_mib"

# SQLite's floor, on the rows of the last ingest.
floor=$work/floor.db
sqlite3 "$floor" "PRAGMA journal_mode = WAL;" >/dev/null
sqlite3 "$work/bench.db" ".schema changes" | sqlite3 "$floor"
sqlite3 "$floor" "ATTACH '$work/bench.db' AS ingested;
    CREATE TABLE rows AS SELECT * FROM ingested.changes ORDER BY committed_at, id;"
# Timed in order: BEGIN, the insert, COMMIT, the checkpoint.
sqlite3 "$floor" <<'SQL' | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' >"$work/floor.times"
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -262144;
PRAGMA wal_autocheckpoint = 0;
.timer on
BEGIN;
INSERT INTO changes SELECT * FROM rows;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
insert=$(sed -n 2p "$work/floor.times")
commit=$(sed -n 3p "$work/floor.times")
checkpoint=$(sed -n 4p "$work/floor.times")
printf 'SQLite alone, the same %s change rows (sqlite3 shell): insert %.2fs, commit %.2fs, checkpoint %.2fs, total %.2fs\n' \
    "$(sqlite3 "$floor" "SELECT COUNT(*) FROM rows")" "$insert" "$commit" "$checkpoint" \
    "$(echo "$insert + $commit + $checkpoint" | bc -l)"
