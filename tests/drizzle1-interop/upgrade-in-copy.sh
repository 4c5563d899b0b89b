#!/usr/bin/env bash
# The move to drizzle 1.0, end to end, in a copy of the committed project, with the embedded
# server (the issue's must-show):
#
#   (a) the copy builds from the journal folder; its binary migrates database moved_app, and
#       drizzle-orm 0.45 (tests/drizzle-interop/migrate.mjs) migrates moved_drizzle;
#   (b) `migration upgrade-folder` converts migration/migrations to drizzle-kit 1.0's layout;
#   (c) the copy builds from the converted folder;
#   (d) on two fresh databases, its `migration up` and drizzle-orm 1.0 (migrate.mjs of this
#       folder) give identical bookkeeping rows (id, hash, created_at, name, applied_at set)
#       and identical `pg_dump --schema-only`;
#   (e) the databases of (a) move on: `migration up` upgrades moved_app's bookkeeping table,
#       drizzle-orm 1.0 upgrades moved_drizzle's; identical rows, and the schema of (d);
#   (f) `migration verify` passes on every database.
#
#   npm ci --prefix tests/drizzle-interop && npm ci --prefix tests/drizzle1-interop &&
#   bash tests/drizzle1-interop/upgrade-in-copy.sh
#
# The copy is `git archive HEAD` in a temporary folder, removed at the end (kept when
# KEEP_COPY=1), built twice with CARGO_TARGET_DIR = the caller's target folder (default
# <repo>/target), so only the workspace's crates are compiled again; the copy's builds replace
# target/debug/migration until the caller's next cargo command: do not run it while tests of
# that target folder run. Not part of .ci/run: it takes minutes. Needs git, cargo, node 20+
# with both node projects installed, and psql on PATH.
set -euo pipefail

started=$(date +%s.%N)
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

[ -d "$here/node_modules/drizzle-orm" ] || fail "drizzle-orm 1.0 is not installed: run \`npm ci\` in $here"
[ -d "$root/tests/drizzle-interop/node_modules/drizzle-orm" ] ||
  fail "drizzle-orm 0.45 is not installed: run \`npm ci\` in $root/tests/drizzle-interop"
command -v psql >/dev/null || fail "psql is not on PATH: install a PostgreSQL client (apt-get install postgresql-client)"

copy=$(mktemp -d "${TMPDIR:-/tmp}/app-db-upgrade-copy.XXXXXX")
chmod 755 "$copy"
export APP_DB_DEV_DIR="$copy/.app-db"
cleanup() {
  (cd "$copy" && cargo run -q -p migration -- db stop >/dev/null 2>&1) || true
  if [ "${KEEP_COPY:-0}" = 1 ]; then echo "copy kept in $copy"; else rm -rf "$copy"; fi
}
trap cleanup EXIT

git -C "$root" archive HEAD | tar -x -C "$copy"
cd "$copy"
echo "copy of $(git -C "$root" rev-parse --short HEAD) in $copy, CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
folder="$copy/migration/migrations"

migration() { cargo run -q -p migration -- "$@"; }
run() {
  if out=$(migration "$@" 2>&1); then rc=0; else rc=$?; fi
  printf '%s\n' "$out" | sed 's/^/   | /'
}
rows() {
  psql "$1" -v ON_ERROR_STOP=1 -Atc "select id, hash, created_at, to_jsonb(t) ->> 'name', (to_jsonb(t) ->> 'applied_at') is not null from drizzle.__drizzle_migrations t order by id"
}

step "(a) build from the journal folder; migrate moved_app (app-db) and moved_drizzle (drizzle-orm 0.45)"
cargo build -q -p migration || fail "(a) the copy does not build"
url=$(migration db url 2>/dev/null) || fail "(a) no URL from \`migration db url\`"
base=${url%/*}
psql "$url" -v ON_ERROR_STOP=1 -q -c "create database up_app" -c "create database up_drizzle" \
  -c "create database moved_app" -c "create database moved_drizzle" || fail "cannot create the databases"
run -u "$base/moved_app" up
[ "$rc" = 0 ] || fail "(a) \`migration up\` on the journal folder exited $rc"
DATABASE_URL="$base/moved_drizzle" node "$root/tests/drizzle-interop/migrate.mjs" migrate "$folder" >/dev/null ||
  fail "(a) drizzle-orm 0.45 failed on the journal folder"

step "(b) migration upgrade-folder"
run upgrade-folder
[ "$rc" = 0 ] || fail "(b) upgrade-folder exited $rc"
[ ! -e "$folder/meta" ] || fail "(b) meta/ is still there"
count=$(find "$folder" -mindepth 2 -name migration.sql | wc -l)
[ "$count" = 9 ] || fail "(b) expected 9 migration folders, found $count"

step "(c) build from the converted folder"
cargo build -q -p migration || fail "(c) the copy does not build from the converted folder"
run status --json -u "$base/up_app"
grep -q '"layout": "folders"' <<<"$out" || fail "(c) the binary does not embed the 1.0 layout"

step "(d) fresh databases: app-db's up and drizzle-orm 1.0"
run -u "$base/up_app" up
[ "$rc" = 0 ] || fail "(d) \`migration up\` exited $rc"
DATABASE_URL="$base/up_drizzle" node "$here/migrate.mjs" migrate "$folder" >/dev/null ||
  fail "(d) drizzle-orm 1.0 failed on the converted folder"
rows_app=$(rows "$base/up_app")
rows_drizzle=$(rows "$base/up_drizzle")
[ "$(echo "$rows_app" | grep -c '|t$')" = 9 ] || fail "(d) app-db's rows lack names or applied_at:
$rows_app"
[ "$rows_app" = "$rows_drizzle" ] || fail "(d) bookkeeping rows differ (app-db < > drizzle-orm 1.0):
$(diff <(echo "$rows_app") <(echo "$rows_drizzle") || true)"
bindir=$(psql "$url" -Atc "select setting from pg_config where name = 'BINDIR'")
dump() { "$bindir/pg_dump" --schema-only --no-password "--dbname=$1" | sed -E 's/^\\(un)?restrict .*/\\\1restrict <key>/'; }
dump_app=$(dump "$base/up_app")
dump_drizzle=$(dump "$base/up_drizzle")
grep -q "applied_at timestamp with time zone DEFAULT now()" <<<"$dump_app" ||
  fail "(d) app-db's bookkeeping table is not drizzle-orm 1.0's"
[ "$dump_app" = "$dump_drizzle" ] || fail "(d) pg_dump --schema-only differs (app-db < > drizzle-orm 1.0):
$(diff <(echo "$dump_app") <(echo "$dump_drizzle") || true)"
echo "   9 identical bookkeeping rows; identical schema dumps ($(echo "$dump_app" | wc -l) lines)"

step "(e) the databases migrated before the conversion move on"
run -u "$base/moved_app" up
[ "$rc" = 0 ] || fail "(e) \`migration up\` exited $rc"
grep -q "upgraded .* to drizzle-orm 1.0's shape" <<<"$out" || fail "(e) app-db did not upgrade the table"
DATABASE_URL="$base/moved_drizzle" node "$here/migrate.mjs" migrate "$folder" >/dev/null ||
  fail "(e) drizzle-orm 1.0 failed on moved_drizzle"
moved_app=$(rows "$base/moved_app")
moved_drizzle=$(rows "$base/moved_drizzle")
[ "$moved_app" = "$moved_drizzle" ] || fail "(e) bookkeeping rows differ (app-db < > drizzle-orm):
$(diff <(echo "$moved_app") <(echo "$moved_drizzle") || true)"
for db in moved_app moved_drizzle; do
  [ "$(dump "$base/$db")" = "$dump_drizzle" ] || fail "(e) $db's schema differs from a new database's:
$(diff <(echo "$dump_drizzle") <(dump "$base/$db") || true)"
done
echo "   9 identical upgraded rows (named, applied_at NULL); schemas equal to (d)'s"

step "(f) migration verify on every database"
for db in up_app up_drizzle moved_app moved_drizzle; do
  run -u "$base/$db" verify
  [ "$rc" = 0 ] || fail "(f) verify on $db exited $rc"
done

echo "== all steps passed in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s"
