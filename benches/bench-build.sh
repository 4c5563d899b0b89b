#!/usr/bin/env bash
# Build-time cost of embedding a large migration folder.
#
#   benches/bench-build.sh [COUNT]     (COUNT defaults to 1000)
#
# Generates COUNT drizzle-style migrations in a temp folder, builds tests/build-check/ (the
# same build.rs shim, src/journal/ and src/migrations.rs as app-db) against it in
# <target>/bench-build, then measures, in the dev profile developers use:
#   (a) the build script alone: the compiled build-script-build run directly, 5 times;
#   (b) the incremental rebuild after touching one .sql file: `cargo build`, 3 times
#       (build script rerun + recompiling the crate that include_str!s every file);
#   (c) a no-op `cargo build` (cargo checking the mtimes of every watched path), 3 times.
# With BENCH_APP_DB=1 it also measures
#   (d) app-db itself: `cargo build --workspace --lib` after touching one .sql file, 3 times,
#       in the normal target dir (the next normal build then reruns build.rs and recompiles
#       app-db once, as APP_DB_MIGRATIONS_DIR changed back).
# Prints one line per figure. Not a test: timings depend on the machine.
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

elapsed() { # command... -> seconds with millisecond precision
  local start end
  start=$(date +%s%N)
  "$@" > /dev/null 2>&1
  end=$(date +%s%N)
  echo "scale=3; ($end - $start) / 1000000000" | bc
}

build() {
  APP_DB_MIGRATIONS_DIR=$dir CARGO_TARGET_DIR=$target \
    cargo build --manifest-path "$root/tests/build-check/Cargo.toml" "$@"
}

echo "folder: $count migrations, $bytes bytes of SQL"
echo "first build (dependencies, script, crate): $(elapsed build) s"
if ! build > /dev/null 2>&1; then build; exit 1; fi

script=$(ls -t "$target"/debug/build/journal-build-check-*/build-script-build | head -n 1)
out=$work/out
mkdir -p "$out"
printf '(a) build script alone:'
for _ in 1 2 3 4 5; do
  printf ' %s' "$(elapsed env OUT_DIR="$out" CARGO_MANIFEST_DIR="$root/tests/build-check" \
    APP_DB_MIGRATIONS_DIR="$dir" "$script")"
done
echo ' s'

middle=$(printf '%04d_table_%d.sql' $((count / 2)) $((count / 2)))
printf '(b) rebuild after touching %s:' "$middle"
for _ in 1 2 3; do
  touch "$dir/$middle"
  printf ' %s' "$(elapsed build)"
done
echo ' s'
# Prove (b) measured real work: after a touch cargo must rerun the script and recompile.
touch "$dir/$middle"
verbose=$(build -v 2>&1)
grep -q "Running .*build-script-build" <<< "$verbose" || {
  echo "touch did not rerun the build script" >&2; exit 1; }

printf '(c) no-op build:'
for _ in 1 2 3; do
  printf ' %s' "$(elapsed build)"
done
echo ' s'
echo "generated file: $(wc -c < "$out/migrations.rs") bytes"

if [[ ${BENCH_APP_DB:-0} == 1 ]]; then
  app_db() {
    APP_DB_MIGRATIONS_DIR=$dir cargo build --manifest-path "$root/Cargo.toml" --workspace --lib
  }
  echo "app-db first build against the folder: $(elapsed app_db) s"
  if ! app_db > /dev/null 2>&1; then app_db; exit 1; fi
  printf '(d) app-db rebuild after touching %s:' "$middle"
  for _ in 1 2 3; do
    touch "$dir/$middle"
    printf ' %s' "$(elapsed app_db)"
  done
  echo ' s'
fi
