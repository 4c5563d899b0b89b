#!/usr/bin/env bash
# Build-time cost of embedding a large migration folder.
#
#   benches/bench-build.sh [COUNT]     (COUNT defaults to 1000)
#
# Generates COUNT drizzle-style migrations in a temp folder, builds tests/build-check/ (the
# same build.rs shim, src/journal/ and src/migrations.rs as app-db) against it in
# <target>/bench-build, then measures, in the dev profile developers use:
#   (a) the build script alone: the compiled build-script-build run directly;
#   (b) the incremental rebuild after touching one .sql file: `cargo build`
#       (build script rerun + recompiling the crate that include_str!s every file);
#   (c) a no-op `cargo build` (cargo checking the mtimes of every watched path);
# each BENCH_RUNS times (default 5).
# With BENCH_APP_DB=1 it also measures
#   (d) app-db itself: `cargo build --workspace --lib` after touching one .sql file,
#       BENCH_RUNS times, in the normal target dir (the next normal build then reruns build.rs
#       and recompiles app-db once, as APP_DB_MIGRATIONS_DIR changed back).
# Prints one line per figure, then one `bench-result` line per figure (median, min, max of its
# runs, in seconds) for benches/run-all.sh. Not a test: timings depend on the machine.
# Any failing step (a build that fails, a build script that errors) ends the script with its
# output and a non-zero status: a failed build is never timed.
set -euo pipefail

count=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}/bench-build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$work/migrations
mkdir -p "$dir/meta"

# --- a folder like drizzle-kit's: NNNN_name.sql with breakpoints, journal version 7 --------
{
  printf '{\n  "version": "7",\n  "dialect": "postgresql",\n  "entries": ['
  for ((i = 0; i < count; i++)); do
    tag=$(printf '%04d_table_%d' "$i" "$i")
    [[ $i -gt 0 ]] && printf ','
    printf '\n    {"idx": %d, "version": "7", "when": %d, "tag": "%s", "breakpoints": true}' \
      "$i" $((1795557463624 + i * 1000)) "$tag"
    cat > "$dir/$tag.sql" <<SQL
CREATE TABLE "table_$i" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" integer NOT NULL,
	"name" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "table_${i}_org_idx" ON "table_$i" USING btree ("org_id");--> statement-breakpoint
COMMENT ON TABLE "table_$i" IS 'generated for bench-build';
SQL
  done
  printf '\n  ]\n}\n'
} > "$dir/meta/_journal.json"
bytes=$(cat "$dir"/*.sql | wc -c)

log=$work/step.log
# command... -> seconds with millisecond precision on stdout. When the command fails its output
# goes to stderr and elapsed fails, so `t=$(elapsed ...)` stops the script (set -e).
elapsed() {
  local start end
  start=$(date +%s%N)
  if ! "$@" > "$log" 2>&1; then
    echo "failed: $*" >&2
    cat "$log" >&2
    return 1
  fi
  end=$(date +%s%N)
  echo "scale=3; ($end - $start) / 1000000000" | bc
}

# id, label, samples... -> `bench-result<TAB>id<TAB>label<TAB>median<TAB>min<TAB>max<TAB>n<TAB>s`
result() {
  local id=$1 label=$2
  shift 2
  printf '%s\n' "$@" | sort -g | awk -v id="$id" -v label="$label" '
    { v[NR] = $1 }
    END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "bench-result\t%s\t%s\t%.3f\t%.3f\t%.3f\t%d\ts\n", id, label, m, v[1], v[NR], NR
    }'
}

# label, runs, command... -> the samples printed on one line, then kept in $samples.
measure() {
  local label=$1 runs=$2 t
  shift 2
  samples=()
  printf '%s:' "$label"
  for ((r = 0; r < runs; r++)); do
    t=$(elapsed "$@")
    samples+=("$t")
    printf ' %s' "$t"
  done
  echo ' s'
}

build() {
  APP_DB_MIGRATIONS_DIR=$dir CARGO_TARGET_DIR=$target \
    cargo build --manifest-path "$root/tests/build-check/Cargo.toml" "$@"
}

runs=${BENCH_RUNS:-5}
echo "folder: $count migrations, $bytes bytes of SQL"
first=$(elapsed build)
echo "first build (dependencies, script, crate): $first s"

script=$(ls -t "$target"/debug/build/journal-build-check-*/build-script-build | head -n 1)
out=$work/out
mkdir -p "$out"
run_script() {
  env OUT_DIR="$out" CARGO_MANIFEST_DIR="$root/tests/build-check" APP_DB_MIGRATIONS_DIR="$dir" "$script"
}
measure "(a) build script alone" "$runs" run_script
a=("${samples[@]}")

middle=$(printf '%04d_table_%d.sql' $((count / 2)) $((count / 2)))
touch_and_build() { touch "$dir/$middle" && build; }
measure "(b) rebuild after touching $middle" "$runs" touch_and_build
b=("${samples[@]}")
# Prove (b) measured real work: after a touch cargo must rerun the script and recompile.
touch "$dir/$middle"
verbose=$(build -v 2>&1)
grep -q "Running .*build-script-build" <<< "$verbose" || {
  echo "touch did not rerun the build script" >&2; exit 1; }

measure "(c) no-op build" "$runs" build
c=("${samples[@]}")
echo "generated file: $(wc -c < "$out/migrations.rs") bytes"

result build.script "build script alone, $count migrations" "${a[@]}"
result build.rebuild "rebuild after touching one of $count migrations" "${b[@]}"
result build.noop "no-op build, $count migrations" "${c[@]}"

if [[ ${BENCH_APP_DB:-0} == 1 ]]; then
  app_db() {
    APP_DB_MIGRATIONS_DIR=$dir cargo build --manifest-path "$root/Cargo.toml" --workspace --lib
  }
  echo "app-db first build against the folder: $(elapsed app_db) s"
  touch_and_build_app_db() { touch "$dir/$middle" && app_db; }
  measure "(d) app-db rebuild after touching $middle" "$runs" touch_and_build_app_db
  result build.app-db "app-db rebuild after touching one of $count migrations" "${samples[@]}"
fi
