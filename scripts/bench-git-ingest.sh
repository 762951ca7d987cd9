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
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
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
