// drizzle-orm 1.0's own migrator (release candidate, pinned in package.json), driven by app-db's
// drizzle 1.0 interoperability tests.
//
//   node migrate.mjs migrate <folder> [--first K]   applies <folder> to $DATABASE_URL
//   node migrate.mjs read <folder>                  prints readMigrationFiles() as JSON
//
// The URL comes from the environment so that a password never shows in a process list.
// `migrate` prints one JSON line {"elapsed_ms": ...}; a failure prints the error's message on
// stderr and exits 1.
//
// drizzle's migrator has no step limit, so `--first K` runs it against a temporary copy of the
// folder holding only the first K migration folders in name order (drizzle-orm 1.0's order;
// files copied unchanged, so their hashes are the same).
//
// node-postgres with drizzle-orm 1.0: `drizzle({ client })`. The 0.x form `drizzle(client)`
// makes 1.0 send a malformed first message ("invalid frontend message type 0").

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { readMigrationFiles } from "drizzle-orm/migrator";
import pg from "pg";

function usage(message) {
  console.error(`${message}\nusage: node migrate.mjs migrate <folder> [--first K] | read <folder>`);
  process.exit(2);
}

function migrationFolders(folder) {
  return fs
    .readdirSync(folder)
    .filter((name) => fs.existsSync(path.join(folder, name, "migration.sql")))
    .sort((a, b) => a.localeCompare(b));
}

function truncatedCopy(folder, first) {
  const names = migrationFolders(folder);
  if (first > names.length) usage(`--first ${first}: the folder has only ${names.length} migrations`);
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "drizzle1-first-"));
  for (const name of names.slice(0, first)) {
    fs.cpSync(path.join(folder, name), path.join(copy, name), { recursive: true });
  }
  return copy;
}

async function runMigrate(folder, first) {
  const url = process.env.DATABASE_URL;
  if (!url) usage("DATABASE_URL is not set");
  const migrationsFolder = first === undefined ? folder : truncatedCopy(folder, first);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    await migrate(drizzle({ client }), { migrationsFolder });
    const elapsed = performance.now() - started;
    console.log(JSON.stringify({ elapsed_ms: elapsed }));
  } catch (error) {
    const cause = error.cause ? ` (cause: ${error.cause.message ?? error.cause})` : "";
    console.error(`drizzle-orm 1.0 migrate() failed: ${error.message}${cause}`);
    process.exitCode = 1;
  } finally {
    await client.end();
    if (migrationsFolder !== folder) fs.rmSync(migrationsFolder, { recursive: true, force: true });
  }
}

const [command, folder, ...rest] = process.argv.slice(2);
if (!folder) usage("missing <folder>");
switch (command) {
  case "migrate": {
    let first;
    if (rest.length === 2 && rest[0] === "--first" && /^\d+$/.test(rest[1])) {
      first = Number(rest[1]);
    } else if (rest.length !== 0) {
      usage(`unexpected arguments: ${rest.join(" ")}`);
    }
    await runMigrate(folder, first);
    break;
  }
  case "read":
    if (rest.length !== 0) usage(`unexpected arguments: ${rest.join(" ")}`);
    // Exactly what migrate() works from: per migration, the pieces, when, hash and name.
    console.log(JSON.stringify(readMigrationFiles({ migrationsFolder: folder }), null, 2));
    break;
  default:
    usage(`unknown command ${command}`);
}
