#!/bin/sh
# Regenerates tests/fixtures/generate/<class>/expected-v1/ with the pinned drizzle-kit 1.0
# (1.0.0-rc.5): `drizzle-kit generate` on before.ts, then, a second later (folders are named to
# the second), on after.ts, in a fresh folder each time, offline.
#
#   npm ci --prefix tests/drizzle1-interop && sh tests/drizzle1-interop/generate-fixtures.sh [class...]
#
# Without arguments every class is regenerated. stdin is /dev/null so that a rename prompt
# fails instead of waiting. The folder names carry the time of the run and the snapshots random
# ids: the comparisons ignore both (tests/generate_drizzle_kit.rs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$(cd "$here/../fixtures/generate" && pwd)
kit="$here/node_modules/.bin/drizzle-kit"
[ -x "$kit" ] || { echo "drizzle-kit 1.0 is not installed: run \`npm ci\` in $here" >&2; exit 1; }
# The schema files import drizzle-orm/pg-core: drizzle-orm 1.0's, from this project.
export NODE_PATH="$here/node_modules"
if [ $# -eq 0 ]; then set -- $(cd "$fixtures" && ls -d [0-9][0-9]_*); fi
for class in "$@"; do
  dir="$fixtures/$class"
  work=$(mktemp -d)
  for step in before after; do
    (cd "$work" && "$kit" generate --dialect postgresql --schema "$dir/$step.ts" \
      --out out --name "$step" </dev/null >"$work/$step.log" 2>&1) || true
    ls -d "$work"/out/*_"$step" >/dev/null 2>&1 || {
      echo "$class: drizzle-kit generate on $step.ts wrote no *_$step folder:" >&2
      cat "$work/$step.log" >&2; exit 1; }
    [ "$step" = after ] || sleep 1
  done
  rm -rf "$dir/expected-v1"
  cp -R "$work/out" "$dir/expected-v1"
  rm -rf "$work"
  echo "$class"
done
