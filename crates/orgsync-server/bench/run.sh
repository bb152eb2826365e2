#!/usr/bin/env bash
# Load-tests the catalog API with wrk on a generated catalog of 100,000
# entities (90,000 users, 10,000 groups) in SQLite, on loopback only.
#
# Usage: crates/orgsync-server/bench/run.sh [duration-seconds] [connections]
# Needs: wrk (Debian package wrk). Builds the catalog_bench example in
# release mode. BENCH_DATABASE reuses a database between runs.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench/../../.." && pwd)
duration=${1:-20}
connections=${2:-16}
threads=2
users=90000
groups=10000

command -v wrk >/dev/null || { echo "error: wrk is missing; apt-get install -y wrk" >&2; exit 1; }

cd "$repo"
cargo build --release --quiet -p orgsync-server --example catalog_bench
target_dir=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d)
database=${BENCH_DATABASE:-$work/catalog.sqlite}

"$target_dir/release/examples/catalog_bench" --database "$database" \
  --users "$users" --groups "$groups" >"$work/stdout" 2>"$work/stderr" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 600); do
  url=$(sed -n 's/^orgsync is serving //p' "$work/stdout")
  [ -n "$url" ] && break
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/stderr" >&2; exit 1; fi
  sleep 1
done
[ -n "${url:-}" ] || { echo "error: the server did not start" >&2; exit 1; }
cat "$work/stderr" >&2

run() {
  local name=$1; shift
  echo "== $name"
  BENCH_USERS=$users BENCH_GROUPS=$groups \
    wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@"
}

# Warm the page cache so the first scenario is not measured cold.
curl -sf "$url/api/catalog/entities/by-query?filter=kind=user&limit=1" >/dev/null

run "by-name, random user" -s "$bench/by-name.lua" "$url"
run "by-query, users of a random group (filter kind + relations.memberof, limit 20)" \
  -s "$bench/by-query-member.lua" "$url"
run "by-query, first page of all users (filter kind=user, limit 20, with totalItems)" \
  "$url/api/catalog/entities/by-query?filter=kind=user&limit=20"
run "by-query, users ordered by metadata.name (limit 20, with totalItems)" \
  "$url/api/catalog/entities/by-query?filter=kind=user&orderField=metadata.name,asc&limit=20"
