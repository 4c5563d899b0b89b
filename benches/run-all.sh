#!/usr/bin/env bash
# Every benchmark of app-db, one command: writes docs/bench-results.md (with the raw output in
# docs/bench-raw/) and copies its headline table into README.md between the bench-results
# markers.
#
#   benches/run-all.sh            full run: N = 10 runs per process figure (5 for the embedded
#                                 server), ingestion/demo 3 runs per cell; ~20 min on 2 cores
#   benches/run-all.sh --quick    checks that everything works: N = 2, small sizes, ~5 min
#   benches/run-all.sh --check    only checks that README's and docs/bench-results.md's tables
#                                 equal the one the bench-result lines in docs/bench-raw/ give
#
# Sizes can be changed: BENCH_CHUNKS (seed_copy, full 10000), BENCH_DEMO_ORGS (seed --demo,
# full 100), BENCH_RAG_CHUNKS (rag_search, passed on as RAG_BENCH_CHUNKS; full: the bench's
# default, 100000), BENCH_HOLD_SECS (lock_queue: how long the reader holds the table; full 10).
#
# Needs: Rust (cargo), Node.js 20+ with npm (drizzle-orm, pinned in tests/drizzle-interop/),
# python3 with pip (the embedded PostgreSQL, and this script's report), network access for the
# first-use figure, GNU time (/usr/bin/time; installed with apt-get when missing and root).
# Every step must succeed: the first failure stops the run (no figure of a failed step).
set -euo pipefail
shopt -s inherit_errexit

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
report=(python3 "$root/benches/report.py" --root "$root")

mode=full
case ${1:-} in
  "") ;;
  --quick) mode=quick ;;
  --check) exec "${report[@]}" --check ;;
  *) echo "usage: benches/run-all.sh [--quick | --check]" >&2; exit 2 ;;
esac

if [[ $mode == quick ]]; then
  runs=2 cold_runs=2 iterations=20 ingest_runs=2
  chunks=${BENCH_CHUNKS:-1000} demo_orgs=${BENCH_DEMO_ORGS:-5} rag_chunks=${BENCH_RAG_CHUNKS:-5000}
  rag_queries=10
  build_count=100
  lock_hold=${BENCH_HOLD_SECS:-4}
else
  runs=10 cold_runs=5 iterations=200 ingest_runs=3
  chunks=${BENCH_CHUNKS:-10000} demo_orgs=${BENCH_DEMO_ORGS:-100} rag_chunks=${BENCH_RAG_CHUNKS:-}
  rag_queries=100
  build_count=1000
  lock_hold=${BENCH_HOLD_SECS:-10}
fi

say() { printf '\n=== %s (%s UTC)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

# --- prerequisites ----------------------------------------------------------------------------
need() { # program, what to do when it is missing
  command -v "$1" > /dev/null || { echo "error: $1 not found: $2" >&2; exit 1; }
}
need cargo "install Rust (rustup)"
need python3 "install Python 3 with pip"
need node "install Node.js 20 or newer with npm"
need npm "install Node.js 20 or newer with npm"
if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
    apt-get install -y time > /dev/null || { apt-get update > /dev/null && apt-get install -y time > /dev/null; }
  else
    echo "error: /usr/bin/time not found: install GNU time (apt-get install time)" >&2
    exit 1
  fi
fi

raw=$root/docs/bench-raw
work=$(mktemp -d)
dev=""
cleanup() {
  if [[ -n $dev && -d $dev ]]; then
    APP_DB_DEV_DIR=$dev "$cli" db stop > /dev/null 2>&1 || true
    rm -rf "$dev"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Only the steps' own files are replaced: docs/bench-raw/ also keeps the raw output that
# docs/bench-rag.md cites from other runs (pgvector 0.6.2, sweeps, three-load runs).
mkdir -p "$raw"

# runs a step, its output going to docs/bench-raw/NAME.txt (and the terminal), where
# benches/report.py reads its bench-result lines; any failure stops the run. The output goes
# to a new file first, so a failed step leaves the last good raw file in place.
step() {
  local name=$1
  shift
  say "$name: $*"
  "$@" 2>&1 | tee "$work/$name.txt"
  mv "$work/$name.txt" "$raw/$name.txt"
}

# --- builds: the release binary users deploy, the benchmarks (bench profile = release) ----------
say "build"
cargo build --release -p migration
cargo bench --no-run --bench migrator --bench embedded --bench seed_copy --bench rag_search --bench lock_queue
cli=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/migration
export APP_DB_CLI=$cli

# --- the machine and the software -----------------------------------------------------------------
facts=$work/facts.env
{
  echo "mode=$mode"
  echo "commit=$(git rev-parse HEAD)"
  echo "dirty=$(git status --porcelain --untracked-files=no -- . ':!docs/bench-results.md' ':!docs/bench-raw' ':!README.md' | wc -l)"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cores=$(nproc)"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -sr)"
  echo "rustc=$(rustc --version)"
  echo "node=$(node --version)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "runs=$runs"
  echo "cold_runs=$cold_runs"
  echo "iterations=$iterations"
  echo "ingest_runs=$ingest_runs"
  echo "chunks=$chunks"
  echo "demo_orgs=$demo_orgs"
  echo "rag_chunks=${rag_chunks:-100000}"
  echo "rag_queries=$rag_queries"
  echo "build_count=$build_count"
  echo "lock_hold=$lock_hold"
} > "$facts"
(cd tests/drizzle-interop && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
drizzle=$(cd tests/drizzle-interop && node -p 'JSON.parse(require("fs").readFileSync("node_modules/drizzle-orm/package.json", "utf8")).version')
echo "drizzle=$drizzle" >> "$facts"

# --- the development server: versions, and the demo seeding ---------------------------------------
dev=$work/dev
mkdir -p "$dev"
chmod 755 "$work" "$dev"
url=$(APP_DB_DEV_DIR=$dev "$cli" db start)
pid=$(head -n 1 "$dev/data/postmaster.pid")
psql=$(dirname "$(readlink -f "/proc/$pid/exe")")/psql
sql() { "$psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
base=${url%/*}
sql -d "$url" -c "create database bench_versions"
"$cli" -u "$base/bench_versions" up > /dev/null
# Assignments, not substitutions inside echo: a failing query must stop the run.
postgres=$(sql -d "$base/bench_versions" -c 'show server_version')
pgvector=$(sql -d "$base/bench_versions" -c "select extversion from pg_extension where extname = 'vector'")
echo "postgres=$postgres" >> "$facts"
echo "pgvector=$pgvector" >> "$facts"

demo() {
  local i db t rss
  : > "$work/demo"
  echo "seed --demo --orgs $demo_orgs, release build, whole process, each on a fresh migrated database"
  for ((i = 1; i <= ingest_runs; i++)); do
    db=bench_demo_$i
    sql -d "$url" -c "create database $db"
    "$cli" -u "$base/$db" up > /dev/null
    /usr/bin/time -f '%e %M' -o "$work/time" "$cli" -u "$base/$db" seed --demo --orgs "$demo_orgs" > /dev/null
    read -r t rss < "$work/time"
    echo "run $i: $t s, peak memory $rss KiB, $(sql -d "$base/$db" -c 'select count(*) from document_chunk') chunks"
    echo "$t" >> "$work/demo"
    sql -d "$url" -c "drop database $db"
  done
  sort -g "$work/demo" | awk -v orgs="$demo_orgs" '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "bench-result\tdemo.seed\t`seed --demo --orgs %d`\t%.3f\t%.3f\t%.3f\t%d\ts\n", orgs, m, v[1], v[NR], NR }'
}

# --- the benchmarks ---------------------------------------------------------------------------
export BENCH_RUNS=$runs BENCH_COLD_RUNS=$cold_runs BENCH_ITERATIONS=$iterations
step migrator cargo bench --bench migrator
step lock_queue env BENCH_HOLD_SECS="$lock_hold" cargo bench --bench lock_queue
step embedded cargo bench --bench embedded
step build env BENCH_RUNS="$runs" benches/bench-build.sh "$build_count"
step demo demo
step seed_copy env BENCH_CHUNKS="$chunks" BENCH_INGEST_RUNS="$ingest_runs" cargo bench --bench seed_copy
if [[ -n $rag_chunks ]]; then
  step rag_search env RAG_BENCH_CHUNKS="$rag_chunks" RAG_BENCH_QUERIES="$rag_queries" cargo bench --bench rag_search
else
  step rag_search env RAG_BENCH_QUERIES="$rag_queries" cargo bench --bench rag_search
fi
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$facts"

# --- the report -------------------------------------------------------------------------------
say "report"
"${report[@]}" --facts "$facts"
"${report[@]}" --check
echo "wrote docs/bench-results.md, docs/bench-raw/ and README.md's benchmark table" >&2
