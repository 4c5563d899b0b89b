#!/usr/bin/env bash
# Issue 22: editing an entity never breaks the build of the tool that generates its migration.
# In a throw-away copy of the project (tests/in-copy/lib.sh):
#
#   (a) every one of the 22 entities gets a nullable column and a NOT NULL column with a
#       default (add-columns.py; timestamps, enums, uuid, jsonb, ... on the seeded tables);
#   (b) the whole workspace still compiles (`cargo check --workspace --all-targets`: library,
#       CLI, seeds, tests, benches) and the CLI builds;
#   (c) `generate --dry-run` prints the two ADD COLUMN statements of every table, writes nothing;
#   (d) `generate entity_columns` writes them; the CLI, built again with the new migration,
#       applies the folder on a fresh database (`up`); `generate --check` finds nothing to do;
#   (e) `seed` and `seed --demo --orgs 2` run on that schema, and every seeded row holds the
#       columns' defaults (NULL in the nullable one);
#   (f) one more column on organization, NOT NULL without a default: the CLI still builds; on a
#       fresh database `seed` and `seed --demo` are refused naming the entity, the column and
#       the fix, and nothing is written.
#
#   tests/in-copy/entity-columns.sh                  # the committed HEAD
#   IN_COPY_REV=<commit> tests/in-copy/entity-columns.sh
#
# Run by .ci/run after the test suite. Exits non-zero at the first failing step, saying what
# differed; prints the time of each build and of the whole run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
started=$(date +%s)
in_copy_prepare

step "(a) a nullable and a NOT NULL column with a default on every entity"
columns=$(python3 "$in_copy_here/add-columns.py" "$copy" defaulted) || fail "(a) add-columns.py failed"
tables=$(cut -f1 <<<"$columns")
[ "$(grep -c . <<<"$tables")" = 22 ] || fail "(a) expected 22 entities, found: $tables"

step "(b) the workspace compiles, the CLI builds"
copy_build --all-targets

step "(c) generate --dry-run"
folder_state() { (cd "$copy/migration/migrations" && find . -type f | sort | xargs sha256sum); }
before=$(folder_state)
run generate entity_columns --dry-run
[ "$rc" = 0 ] || fail "(c) generate --dry-run exited $rc, expected 0"
[ "$before" = "$(folder_state)" ] || fail "(c) --dry-run changed the migration folder"
sql_type() {
  case "$1" in
  "Option<String>") echo text ;;
  "Option<i32>") echo integer ;;
  "Option<DateTimeWithTimeZone>") echo "timestamp with time zone" ;;
  "Option<Uuid>") echo uuid ;;
  *) fail "(c) no SQL type for $1" ;;
  esac
}
while IFS=$'\t' read -r table nullable level _; do
  for statement in \
    "ALTER TABLE \"$table\" ADD COLUMN \"edit_note\" $(sql_type "$nullable");" \
    "ALTER TABLE \"$table\" ADD COLUMN \"edit_level\" $level;"; do
    grep -qF -- "$statement" <<<"$out" || fail "(c) generate --dry-run does not print: $statement"
  done
done <<<"$columns"
echo "   all 44 ADD COLUMN statements printed"

step "(d) generate, up, generate --check"
run generate entity_columns
[ "$rc" = 0 ] || fail "(d) generate exited $rc, expected 0"
written=$(comm -13 <(echo "$before" | awk '{print $2}') <(folder_state | awk '{print $2}'))
grep -q '_entity_columns.sql$' <<<"$written" || fail "(d) no NNNN_entity_columns.sql written; new files: ${written:-none}"
# The folder is compiled into the CLI: build it again, as a user does before committing.
copy_build
run up
[ "$rc" = 0 ] || fail "(d) up exited $rc"
grep -q "_entity_columns" <<<"$out" || fail "(d) up did not apply the generated migration"
run generate --check
[ "$rc" = 0 ] || fail "(d) generate --check exited $rc after up: entities and migrations disagree"
url=$(migration db url 2>/dev/null) || fail "(d) no URL from \`migration db url\`"

step "(e) seed and seed --demo --orgs 2 on the new schema"
run seed
[ "$rc" = 0 ] || fail "(e) seed exited $rc"
grep -q "seeded: " <<<"$out" || fail "(e) seed did not seed"
run seed --demo --orgs 2
[ "$rc" = 0 ] || fail "(e) seed --demo --orgs 2 exited $rc"
sql() { psql "$1" -v ON_ERROR_STOP=1 -XAtqc "$2"; }
seeded=0
while IFS=$'\t' read -r table _ _ predicate; do
  counts=$(sql "$url" "select count(*), count(*) filter (where edit_note is null and edit_level $predicate) from \"$table\"") ||
    fail "(e) cannot read $table"
  rows=${counts%|*}
  good=${counts#*|}
  [ "$rows" = "$good" ] || fail "(e) $table: $((rows - good)) of $rows row(s) lack the defaults (edit_note null, edit_level $predicate)"
  if [ "$rows" -gt 0 ]; then
    seeded=$((seeded + 1))
    echo "   $table: $rows row(s), edit_note null, edit_level $predicate"
  fi
done <<<"$columns"
# seeds/initial fills 10 tables, the demo adds ai_usage.
[ "$seeded" -ge 11 ] || fail "(e) only $seeded table(s) have rows: seed or the demo wrote less than expected"

step "(f) a NOT NULL column without a default on organization"
python3 "$in_copy_here/add-columns.py" "$copy" required organization || fail "(f) add-columns.py failed"
copy_build
run generate org_required
[ "$rc" = 0 ] || fail "(f) generate exited $rc"
copy_build
base=${url%/*}
sql "$url" "create database required_column" || fail "(f) cannot create a fresh database"
fresh=$base/required_column
run -u "$fresh" up
[ "$rc" = 0 ] || fail "(f) up on the fresh database exited $rc"
nothing_written() {
  local n
  n=$(sql "$fresh" "select (select count(*) from organization) + (select count(*) from \"user\") + (select count(*) from pg_tables where tablename = '__app_db_seeds')")
  [ "$n" = 0 ] || fail "(f) $1 wrote rows (or its record) although it was refused"
}
run -u "$fresh" seed
[ "$rc" = 1 ] || fail "(f) seed exited $rc, expected 1 (refused)"
for part in "organization.edit_required is NOT NULL without a default" "seeds/initial/organization.json" \
  "nothing was written" "default in entity::organization" "set \`edit_required\` in every row of seeds/initial/organization.json"; do
  grep -qF -- "$part" <<<"$out" || fail "(f) seed's refusal does not say: $part"
done
nothing_written seed
run -u "$fresh" seed --demo --orgs 2
[ "$rc" = 1 ] || fail "(f) seed --demo exited $rc, expected 1 (refused)"
for part in "organization.edit_required is NOT NULL without a default" "the demo generator" \
  "set \`edit_required\` in \`OrgData::generate\` (src/seed/demo.rs)"; do
  grep -qF -- "$part" <<<"$out" || fail "(f) seed --demo's refusal does not say: $part"
done
nothing_written "seed --demo"

echo "== all steps passed in $(($(date +%s) - started)) s"
