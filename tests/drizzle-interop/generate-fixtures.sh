#!/bin/sh
# Regenerates tests/fixtures/generate/<class>/expected/ with the pinned drizzle-kit:
# `drizzle-kit generate` on before.ts (0000_before), then on after.ts (0001_after), in a fresh
# folder each time, offline (generate never connects to a database).
#
#   npm ci --prefix tests/drizzle-interop && sh tests/drizzle-interop/generate-fixtures.sh [class...]
#
# Without arguments every class is regenerated. stdin is /dev/null so that a rename prompt
# (drizzle-kit asks whenever a scope has both an added and a removed item) fails instead of
# waiting, except in a class with an `answers` file: its `after` step runs in a
# pseudo-terminal and answer-prompts.py presses the keys the file names (one line per prompt).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$(cd "$here/../fixtures/generate" && pwd)
kit="$here/node_modules/.bin/drizzle-kit"
[ -x "$kit" ] || { echo "drizzle-kit is not installed: run \`npm ci\` in $here" >&2; exit 1; }
# The schema files import drizzle-orm/pg-core from this project's node_modules.
export NODE_PATH="$here/node_modules"
if [ $# -eq 0 ]; then set -- $(cd "$fixtures" && ls -d [0-9][0-9]_*); fi
for class in "$@"; do
  dir="$fixtures/$class"
  work=$(mktemp -d)
  idx=0
  for step in before after; do
    # --out must be relative: drizzle-kit 0.31 reads an absolute one back as `./<path>`. It also
    # exits 0 after some failures, so success is the file it should have written.
    if [ "$step" = after ] && [ -f "$dir/answers" ]; then
      (cd "$work" && python3 "$here/answer-prompts.py" "$dir/answers" "$kit" generate \
        --dialect postgresql --schema "$dir/$step.ts" --out out --name "$step" \
        </dev/null >"$work/$step.log" 2>&1) || true
    else
      (cd "$work" && "$kit" generate --dialect postgresql --schema "$dir/$step.ts" \
        --out out --name "$step" </dev/null >"$work/$step.log" 2>&1) || true
    fi
    [ -f "$work/out/000${idx}_$step.sql" ] || {
      echo "$class: drizzle-kit generate on $step.ts wrote no 000${idx}_$step.sql:" >&2
      cat "$work/$step.log" >&2; exit 1; }
    idx=1
  done
  rm -rf "$dir/expected"
  cp -R "$work/out" "$dir/expected"
  rm -rf "$work"
  echo "$class"
done
