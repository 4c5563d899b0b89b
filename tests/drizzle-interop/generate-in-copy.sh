#!/usr/bin/env bash
# `generate` end to end, in a copy of the committed project, with the embedded server:
#
#   (a) unchanged entities: `generate x` prints "no schema changes", exits 0, writes nothing;
#   (b) a nullable `billing_email` on organization and a new entity/src/invoice.rs (foreign key
#       to organization) with its `pub mod` line: `generate add_invoice` writes one new file;
#   (c) the folder applies on a fresh database (`migration -u <fresh> up`), and drizzle-orm's
#       migrator (migrate.mjs) on another fresh database gives the same bookkeeping rows and
#       the same `pg_dump --schema-only`;
#   (d) a second `generate` prints "no schema changes";
#   (e) without organization.logo, `generate` is refused (non-zero exit) and names `logo`.
#
#   npm ci --prefix tests/drizzle-interop && bash tests/drizzle-interop/generate-in-copy.sh
#
# The copy is `git archive HEAD` (committed files only) in a temporary folder, removed at the
# end (kept when KEEP_COPY=1). It is built with CARGO_TARGET_DIR = the caller's target folder
# (default <repo>/target, or the caller's CARGO_TARGET_DIR), so compiled dependencies are
# reused and only the workspace's own crates are compiled again for the copy; the copy's build
# replaces target/debug/migration, which the caller's next cargo command links back. Do not run
# it while tests of the same target folder run. Not part of .ci/run: it takes minutes.
# Needs git, cargo, node 20+ with this folder's node_modules, and psql on PATH (for CREATE
# DATABASE; pg_dump is taken from the embedded server's own bin folder).
# Exits non-zero at the first failing step, printing what differed.
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

[ -d "$here/node_modules/drizzle-orm" ] ||
  fail "drizzle-orm is not installed: run \`npm ci\` in $here"
command -v psql >/dev/null || fail "psql is not on PATH: install a PostgreSQL client (apt-get install postgresql-client)"

copy=$(mktemp -d "${TMPDIR:-/tmp}/app-db-generate-copy.XXXXXX")
# The embedded server runs as an unprivileged account, which must reach .app-db inside.
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

migration() { cargo run -q -p migration -- "$@"; }
# Runs the CLI, keeping its combined output in $out and its exit status in $rc.
run() {
  if out=$(migration "$@" 2>&1); then rc=0; else rc=$?; fi
  printf '%s\n' "$out" | sed 's/^/   | /'
}
folder_state() { (cd migration/migrations && find . -type f | sort | xargs sha256sum); }

step "build the copy"
cargo build -q -p migration || fail "the copy does not build"

step "(a) unchanged entities"
before=$(folder_state)
run generate x
[ "$rc" = 0 ] || fail "(a) generate exited $rc, expected 0"
grep -q "no schema changes" <<<"$out" || fail "(a) generate did not print \"no schema changes\""
after=$(folder_state)
[ "$before" = "$after" ] || fail "(a) the folder changed:
$(diff <(echo "$before") <(echo "$after") || true)"

step "(b) billing_email on organization, a new invoice entity"
python3 - <<'EOF'
import pathlib
p = pathlib.Path("entity/src/organization.rs")
s = p.read_text()
anchor = "    pub metadata: Option<String>,\n"
assert anchor in s, "organization.rs has no metadata field"
s = s.replace(anchor, anchor + '    #[sea_orm(column_type = "Text")]\n    pub billing_email: Option<String>,\n', 1)
p.write_text(s)
# Nothing else: the project's code builds entity rows with ..Default::default() (issue 22).
p = pathlib.Path("entity/src/lib.rs")
s = p.read_text()
s = s.replace("pub mod invitation;\n", "pub mod invitation;\npub mod invoice;\n", 1)
p.write_text(s)
EOF
cat >entity/src/invoice.rs <<'EOF'
//! `invoice`: an organization's invoices.

use sea_orm::entity::prelude::*;

/// One invoice of an organization.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", indexed)]
    pub organization_id: String,
    #[sea_orm(default_value = 0)]
    pub amount_cents: i64,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
EOF
names() { ls migration/migrations migration/migrations/meta | sort; }
before=$(names)
run generate add_invoice
[ "$rc" = 0 ] || fail "(b) generate exited $rc, expected 0"
added=$(comm -13 <(echo "$before") <(names))
removed=$(comm -23 <(echo "$before") <(names))
[ -z "$removed" ] || fail "(b) files disappeared: $removed"
[ "$(echo "$added" | grep -c .)" = 1 ] || fail "(b) expected exactly one new file, found: ${added:-none}"
[[ "$added" == *_add_invoice.sql && -f "migration/migrations/$added" ]] ||
  fail "(b) the new file is $added, expected migration/migrations/NNNN_add_invoice.sql"
grep -q "\"tag\": \"${added%.sql}\"" migration/migrations/meta/_journal.json ||
  fail "(b) the journal has no entry for ${added%.sql}"
echo "   new file $added:"
sed 's/^/   > /' "migration/migrations/$added"
echo
grep -q '"invoice"' "migration/migrations/$added" || fail "(b) $added does not create invoice"
grep -q '"billing_email"' "migration/migrations/$added" || fail "(b) $added does not add billing_email"
grep -q 'FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id")' \
  "migration/migrations/$added" || fail "(b) $added has no foreign key to organization"

step "(c) the folder on fresh databases: app-db's up and drizzle-orm's migrator"
url=$(migration db url 2>/dev/null) || fail "(c) no URL from \`migration db url\`"
base=${url%/*}
psql "$url" -v ON_ERROR_STOP=1 -qc "create database gen_app_db" -c "create database gen_drizzle" ||
  fail "(c) cannot create the fresh databases"
run -u "$base/gen_app_db" up
[ "$rc" = 0 ] || fail "(c) \`migration -u <fresh> up\` exited $rc"
DATABASE_URL="$base/gen_drizzle" node "$here/migrate.mjs" migrate "$copy/migration/migrations" ||
  fail "(c) drizzle-orm's migrator failed on the folder"
rows() { psql "$1" -v ON_ERROR_STOP=1 -Atc "select id, hash, created_at from drizzle.__drizzle_migrations order by id"; }
rows_app=$(rows "$base/gen_app_db")
rows_drizzle=$(rows "$base/gen_drizzle")
[ "$(echo "$rows_app" | grep -c .)" = "$(ls migration/migrations/*.sql | wc -l)" ] ||
  fail "(c) app-db recorded $(echo "$rows_app" | grep -c .) migration(s), the folder has $(ls migration/migrations/*.sql | wc -l)"
[ "$rows_app" = "$rows_drizzle" ] || fail "(c) __drizzle_migrations differ (app-db < > drizzle-orm):
$(diff <(echo "$rows_app") <(echo "$rows_drizzle") || true)"
bindir=$(psql "$url" -Atc "select setting from pg_config where name = 'BINDIR'")
# pg_dump 16.10+ opens and closes with a random \restrict key.
dump() { "$bindir/pg_dump" --schema-only --no-password "--dbname=$1" | sed -E 's/^\\(un)?restrict .*/\\\1restrict <key>/'; }
dump_app=$(dump "$base/gen_app_db")
dump_drizzle=$(dump "$base/gen_drizzle")
grep -q "CREATE TABLE public.invoice" <<<"$dump_app" || fail "(c) app-db's database has no invoice table"
[ "$dump_app" = "$dump_drizzle" ] || fail "(c) pg_dump --schema-only differs (app-db < > drizzle-orm):
$(diff <(echo "$dump_app") <(echo "$dump_drizzle") || true)"
echo "   $(echo "$rows_app" | wc -l) identical bookkeeping rows; identical schema dumps ($(echo "$dump_app" | wc -l) lines)"

step "(d) generate again"
before=$(folder_state)
run generate again
[ "$rc" = 0 ] || fail "(d) generate exited $rc, expected 0"
grep -q "no schema changes" <<<"$out" || fail "(d) generate did not print \"no schema changes\""
[ "$before" = "$(folder_state)" ] || fail "(d) the folder changed"

step "(e) organization without logo"
python3 - <<'EOF'
import pathlib
p = pathlib.Path("entity/src/organization.rs")
s = p.read_text()
logo = '    #[sea_orm(column_type = "Text")]\n    pub logo: Option<String>,\n'
assert logo in s, "organization.rs has no logo field"
p.write_text(s.replace(logo, "", 1))
p = pathlib.Path("src/seed/demo.rs")
s = p.read_text()
assert "            logo: Set(None),\n" in s, "src/seed/demo.rs sets no logo"
p.write_text(s.replace("            logo: Set(None),\n", "", 1))
EOF
before=$(folder_state)
run generate drop_logo
[ "$rc" != 0 ] || fail "(e) generate exited 0: dropping logo was not refused"
grep -q '"logo"' <<<"$out" || fail "(e) the refusal does not name logo"
[ "$before" = "$(folder_state)" ] || fail "(e) the folder changed"

echo "== all steps passed in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s"
