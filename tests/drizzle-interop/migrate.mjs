// drizzle-orm's own migrator, driven by app-db's interoperability tests and benchmarks.
//
//   node migrate.mjs migrate <folder> [--first K]   applies <folder> to $DATABASE_URL
//   node migrate.mjs read <folder>                  prints drizzle's readMigrationFiles() as JSON
//
// The URL comes from the environment so that a password never shows in a process list.
// `migrate` prints one JSON line {"elapsed_ms": ...}: the time spent inside migrate() alone,
// without node's start-up or the connection, for the benchmark.
//
// drizzle's migrator has no step limit, so `--first K` runs it against a temporary copy of the
// folder whose journal keeps only the first K entries (the .sql files are copied unchanged, so
// their hashes are the same).

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

function truncatedCopy(folder, first) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "drizzle-first-"));
  fs.cpSync(folder, copy, { recursive: true });
  const journalPath = path.join(copy, "meta", "_journal.json");
  const journal = JSON.parse(fs.readFileSync(journalPath, "utf8"));
  if (first > journal.entries.length) {
    usage(`--first ${first}: the journal has only ${journal.entries.length} entries`);
  }
  journal.entries = journal.entries.slice(0, first);
  fs.writeFileSync(journalPath, JSON.stringify(journal, null, 2));
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
    await migrate(drizzle(client), { migrationsFolder });
    const elapsed = performance.now() - started;
    console.log(JSON.stringify({ elapsed_ms: elapsed }));
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
    // Exactly what migrate() works from: per entry, the pieces, breakpoints, when and hash.
    console.log(JSON.stringify(readMigrationFiles({ migrationsFolder: folder })));
    break;
  default:
    usage(`unknown command ${command}`);
}
