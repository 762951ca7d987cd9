#!/usr/bin/env bash
# Builds a synthetic git repository for benchmarking `flowmap ingest git`, quickly, with
# `git fast-import`.
#
# usage: scripts/make-synthetic-repo.sh DIR [COMMITS]
#
# COMMITS (default 1000000) commits over ten years: a mainline where every 10th commit is a
# merge of a three-commit feature branch, an annotated release tag every 500 commits, a
# lightweight tag every 5000, five authors, and one small file
# changed per commit in one of 100 directories. The result is repacked and gets a
# commit-graph file, as `git gc` leaves a real repository.
set -euo pipefail

dir=${1:?usage: $0 DIR [COMMITS]}
commits=${2:-1000000}

if [ -e "$dir" ]; then
    echo "$dir already exists" >&2
    exit 1
fi
git init --quiet --initial-branch=main "$dir"

start=$(date +%s)
# The stream: mainline commits on refs/heads/main; each merge first writes its three
# feature commits on refs/heads/feature, forked from the current mainline tip.
awk -v total="$commits" '
function commit(ref, subject, from, merge,    t, a, d) {
    n++
    t = 1500000000 + int(n * 315360000 / total)
    a = "dev" (n % 5) " <dev" (n % 5) "@example.com>"
    d = "d" (n % 100)
    printf "commit %s\nmark :%d\nauthor %s %d +0000\ncommitter %s %d +0000\n", ref, n, a, t - 300, a, t
    printf "data %d\n%s\n", length(subject) + 1, subject
    if (from != "") printf "from %s\n", from
    if (merge != "") printf "merge %s\n", merge
    printf "M 100644 inline %s/f\ndata %d\n%d\n\n", d, length(n "") + 1, n
    return n
}
BEGIN {
    main = ""
    while (n < total) {
        if (main != "" && n % 10 == 6 && n + 4 <= total) {
            f = commit("refs/heads/feature", "feature work " n, ":" main, "")
            f = commit("refs/heads/feature", "feature work " n, "", "")
            f = commit("refs/heads/feature", "feature work " n, "", "")
            main = commit("refs/heads/main", "Merge feature " f, ":" main, ":" f)
        } else {
            main = commit("refs/heads/main", "change " (n + 1), main == "" ? "" : ":" main, "")
        }
        if (n - last_tag >= 500) {
            last_tag = n
            tags++
            printf "tag v%d.%d.0\nfrom :%d\ntagger rel <rel@example.com> %d +0000\ndata 8\nrelease\n\n", int(tags / 100), tags % 100, main, 1500000000 + int(n * 315360000 / total) + 600
        }
        if (n - last_light >= 5000) {
            last_light = n
            printf "reset refs/tags/snapshot-%d\nfrom :%d\n\n", n, main
        }
    }
}' | git -C "$dir" fast-import --quiet

git -C "$dir" repack -a -d --quiet
git -C "$dir" commit-graph write --reachable --no-progress
echo "$dir: $(git -C "$dir" rev-list --count --branches --tags) commits, $(git -C "$dir" tag | wc -l) tags, built in $(( $(date +%s) - start ))s"
