# Shared by the scripts of tests/in-copy/: checks that run the project's own workflow (edit the
# entities, build, `migration generate`, `up`, `seed`) in a throw-away copy of the project.
# Source it, then call `in_copy_prepare`; it sets:
#
#   $copy       the copy: `git archive $IN_COPY_REV` (default HEAD, committed files only), made
#               afresh at a fixed place, $IN_COPY_DIR/project (default <build dir>/in-copy)
#   $scratch    a temporary folder for the copy's development server (APP_DB_DEV_DIR), removed
#               at exit after stopping the server
#
# and provides `step`, `fail`, `copy_cargo` (cargo in the copy), `migration` (the copy's CLI,
# built by `copy_build`) and `run` (the CLI, keeping its output in $out and its status in $rc).
#
# The build. Compiling the copy from nothing costs the whole dependency graph (minutes on two
# cores), so the copy reuses the caller's compiled dependencies: cargo's build directory
# (CARGO_BUILD_BUILD_DIR) is the caller's (default <repo>/target), its target directory (where
# binaries are copied out to) is the copy's own, $IN_COPY_DIR/target. Only the copy's three
# crates are compiled; the caller's target/debug/migration and libraries are never replaced. The
# copy always sits at the same path, so its crates keep the same cargo hashes from run to run:
# each run recompiles them in place instead of adding another set of artifacts to the build
# directory. Cargo locks the build directory: run these scripts after the caller's tests, not
# during (a nested run waits for the lock).
#
# Needs git, cargo, python3, and psql (a PostgreSQL client) on PATH; .ci/run installs psql.

set -euo pipefail

in_copy_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
in_copy_root=$(git -C "$in_copy_here" rev-parse --show-toplevel)

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

in_copy_prepare() {
  command -v psql >/dev/null ||
    fail "psql is not on PATH: install a PostgreSQL client (apt-get install postgresql-client)"
  local rev=${IN_COPY_REV:-HEAD}
  in_copy_build_dir=${CARGO_BUILD_BUILD_DIR:-${CARGO_TARGET_DIR:-$in_copy_root/target}}
  IN_COPY_DIR=${IN_COPY_DIR:-$in_copy_build_dir/in-copy}
  copy=$IN_COPY_DIR/project
  rm -rf "$copy"
  mkdir -p "$copy"
  git -C "$in_copy_root" archive "$rev" | tar -x -C "$copy"
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/app-db-in-copy.XXXXXX")
  # The embedded server runs as an unprivileged account when run as root: it must reach it.
  chmod 755 "$scratch"
  export APP_DB_DEV_DIR="$scratch/.app-db"
  trap in_copy_cleanup EXIT
  echo "copy of $(git -C "$in_copy_root" rev-parse --short "$rev") ($rev) in $copy;" \
    "build dir $in_copy_build_dir, target dir $IN_COPY_DIR/target"
}

in_copy_cleanup() {
  if [ -x "$IN_COPY_DIR/target/debug/migration" ]; then
    (cd "$copy" && "$IN_COPY_DIR/target/debug/migration" db stop >/dev/null 2>&1) || true
  fi
  rm -rf "$scratch"
}

# cargo in the copy, on the caller's build directory and the copy's own target directory.
copy_cargo() {
  (cd "$copy" && CARGO_BUILD_BUILD_DIR=$in_copy_build_dir CARGO_TARGET_DIR=$IN_COPY_DIR/target cargo "$@")
}

# Builds the copy's CLI (after `cargo check`ing every target of the workspace when asked:
# library, CLI, tests, benches), timing it and counting the dependencies it had to compile.
# The feature set of each step is the caller's (clippy's for the check, `cargo test
# --workspace`'s for the CLI, which the test build makes for migration/tests): `cargo build -p
# migration` would resolve features without the workspace's dev-dependencies, and compile
# sea-orm, regex and a few others again. `--test cli_offline` (one small CLI test) makes cargo
# build the binary without linking every test.
copy_build() {
  local started
  started=$(date +%s)
  : >"$scratch/built"
  if [ "${1:-}" = --all-targets ]; then
    copy_cargo check -q --workspace --all-targets --message-format=json-render-diagnostics |
      count_compiled ||
      fail "the copy does not compile (cargo check --workspace --all-targets; errors above)"
  fi
  copy_cargo test -q --workspace --no-run --test cli_offline --message-format=json-render-diagnostics |
    count_compiled || fail "the copy's CLI does not build (errors above)"
  [ -x "$IN_COPY_DIR/target/debug/migration" ] || fail "no CLI at $IN_COPY_DIR/target/debug/migration"
  echo "   built in $(($(date +%s) - started)) s, $(sort -u "$scratch/built" | grep -c .) dependency crate(s) compiled" \
    "(load: $(cut -d' ' -f1-3 /proc/loadavg))"
}

# Reads cargo's JSON messages; appends the dependencies (not the copy's own crates) that were
# compiled rather than reused to $scratch/built.
count_compiled() {
  python3 -c '
import json, sys
with open(sys.argv[1], "a") as out:
    for line in sys.stdin:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") == "compiler-artifact" and not m["fresh"] \
                and not m["package_id"].startswith("path+"):
            out.write(m["package_id"] + "\n")
' "$scratch/built"
}

migration() { (cd "$copy" && "$IN_COPY_DIR/target/debug/migration" "$@"); }

# Runs the copy's CLI, keeping its combined output in $out and its exit status in $rc.
run() {
  if out=$(migration "$@" 2>&1); then rc=0; else rc=$?; fi
  printf '%s\n' "$out" | sed 's/^/   | /'
}
