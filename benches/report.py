#!/usr/bin/env python3
"""Writes docs/bench-results.md from the raw output benches/run-all.sh kept, and copies its
headline table into README.md between the bench-results markers.

    report.py --root DIR --facts FACTS     write both files from docs/bench-raw/
    report.py --root DIR --check           README's and bench-results.md's tables equal the
                                           table the raw files give?
    report.py --root DIR --tables          rewrite only those two tables from the raw files
                                           (after a change to the table's form)

Every figure comes from a `bench-result` line (id, what, median, min, max, n, unit,
tab-separated after `bench-result`) in the raw output of one of STEPS, docs/bench-raw/STEP.txt,
which the benchmarks print themselves; nothing else feeds the table, so `--check` rebuilds it
from the raw files and compares. rag_search's tables are also copied from its raw output, for
reading. Other files in docs/bench-raw/ (runs on another pgvector, sweeps) are kept, never
read here.
"""

import argparse
import pathlib
import re
import sys

BEGIN = "<!-- bench-results:begin -->"
END = "<!-- bench-results:end -->"
RESULTS_MD = "docs/bench-results.md"
RAW = "docs/bench-raw"

# Goals of issue 13: id of the figure, how it is checked, how it is stated.
GOALS = {
    "noop.ratio": (lambda v: v <= 0.1, "<= 0.1x drizzle-orm"),
    "fresh.ratio.psql": (lambda v: v <= 1.05, "<= 1.05x `psql -1`"),
    "noop.app-db.rss": (lambda v: v <= 15.0, "<= 15 MiB"),
}


class Figure:
    def __init__(self, step, fid, what, median, lo, hi, n, unit):
        self.step, self.id, self.what, self.unit = step, fid, what, unit
        self.median, self.min, self.max, self.n = float(median), float(lo), float(hi), int(n)

    def value(self, v):
        if self.unit == "x":
            return f"{v:.3f}x"
        if self.unit == "round trips":
            return f"{v:.0f}"
        if self.unit == "rows/s":
            return f"{v:,.0f} rows/s"
        if self.unit == "recall":
            return f"{v:.3f}"
        if self.unit in ("ms", "MiB") and v >= 100:
            return f"{v:.0f} {self.unit}"
        if self.unit == "ms" and v < 1:
            return f"{v:.3f} ms"
        return f"{v:.1f} {self.unit}" if self.unit in ("ms", "MiB") else f"{v:.3g} {self.unit}"

    def cell(self):
        if self.n == 1:
            return self.value(self.median)
        return f"{self.value(self.median)} ({self.value(self.min)}–{self.value(self.max)}, n={self.n})"

    def goal(self):
        if self.id not in GOALS:
            return ""
        check, text = GOALS[self.id]
        return f"{text}: {'met' if check(self.median) else '**missed**'}"


def read_facts(path):
    facts = {}
    for line in pathlib.Path(path).read_text().splitlines():
        key, _, value = line.partition("=")
        facts[key] = value
    return facts


# The steps of benches/run-all.sh, in its order: each writes docs/bench-raw/STEP.txt.
STEPS = ["migrator", "embedded", "build", "demo", "seed_copy", "rag_search"]


def read_results(raw):
    """Every `bench-result` line of the steps' raw files, as figures by id."""
    figures = {}
    for step in STEPS:
        path = raw / f"{step}.txt"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if not line.startswith("bench-result\t"):
                continue
            parts = line.split("\t")[1:]
            if len(parts) != 7:
                sys.exit(f"report.py: {path}: a bench-result line has {len(parts)} fields, not 7: {line!r}")
            f = Figure(step, *parts)
            figures[f.id] = f
    return figures


def parse_rag(raw):
    """(heading, header cells, rows) of every table in rag_search's output."""
    path = raw / "rag_search.txt"
    if not path.exists():
        return []
    tables, heading, header, rows = [], "", None, []
    for line in path.read_text().splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
            continue
        if header is not None:
            tables.append((heading, header, rows))
            header, rows = None, []
        if line.strip():
            heading = line.strip()
    if header is not None:
        tables.append((heading, header, rows))
    return tables


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def headline(figures, facts):
    f = figures.get
    rows = []

    def add(what, boundary, result, goal=""):
        rows.append([what, boundary, result, goal])

    def vs(*ids):
        return " vs ".join(f(i).cell() for i in ids if f(i))

    process = "whole process"
    if f("noop.app-db"):
        add("no-op `migration up` vs node + drizzle-orm `migrate()` (up-to-date database)", process,
            vs("noop.app-db", "noop.drizzle"))
        add("… ratio app-db / drizzle-orm (paired runs)", process, f("noop.ratio").cell(),
            f("noop.ratio").goal())
        add("… peak memory, app-db vs drizzle-orm", process, vs("noop.app-db.rss", "noop.drizzle.rss"),
            f("noop.app-db.rss").goal())
    if f("fresh.app-db"):
        add(f"fresh database + the whole history: `migration up` vs `psql -1 -f` vs drizzle-orm",
            process, vs("fresh.app-db", "fresh.psql", "fresh.drizzle"))
        add("… ratio app-db / `psql -1` (paired runs)", process, f("fresh.ratio.psql").cell(),
            f("fresh.ratio.psql").goal())
        add("… ratio app-db / drizzle-orm (paired runs)", process, f("fresh.ratio.drizzle").cell())
    if f("trips.inproc.run"):
        add("round trips: no-op boot (`Migrator::run`) / `init::open` / no-op `migration up`",
            "in process / in process / whole process",
            f"{f('trips.inproc.run').cell()} / {f('trips.inproc.open').cell()} / {f('trips.noop.app-db').cell()}")
        add("round trips, fresh history: app-db vs `psql -1` vs drizzle-orm", process,
            f"{f('trips.fresh.app-db').cell()} vs {f('trips.fresh.psql').cell()} vs {f('trips.fresh.drizzle').cell()}")
    if f("lockq.timeout.wait"):
        def waits(prefix):
            wait, p95 = f(f"{prefix}.wait"), f(f"{prefix}.p95")
            return (f"worst {wait.value(wait.max)}, p95 {p95.value(p95.median) if p95 else '-'},"
                    f" p50 {wait.value(wait.median)} (n={wait.n})")
        worst = f("lockq.timeout.wait").max
        add(f"app-query wait while `ALTER TABLE` waits behind a {facts.get('lock_hold', '?')} s reader"
            " (issue 17, case 1): with the DDL lock timeout (2 s) vs without",
            "in process, per query", waits("lockq.timeout") + " vs "
            + (waits("lockq.none") if f("lockq.none.wait") else "-"),
            f"worst <= about the lock timeout: {'met' if worst <= 2500 else '**missed**'}")
    if f("inproc.noop.run"):
        add("no-op boot: `Migrator::run` on an open connection / `init::open`", "in process",
            vs("inproc.noop.run", "inproc.noop.open"))
    if f("embedded.first-use"):
        add("first use: pip download (no cache) + verify + unpack + initdb + start (`db start`)", process,
            f("embedded.first-use").cell())
        add("`db start`: new cluster / warm start of a stopped one", process,
            vs("embedded.new-cluster", "embedded.warm-start"))
        add("per-test database: empty / migrated (create from template + connect)", "in process",
            vs("testdb.empty", "testdb.migrated"))
    build = [x for x in figures.values() if x.step == "build"]
    if build:
        add("; ".join(x.what for x in build), "cargo, dev profile", " / ".join(x.cell() for x in build))
    if f("demo.seed"):
        add(f"demo data: {f('demo.seed').what}, measured", process, f("demo.seed").cell())
    if f("seed.copy.app-db"):
        chunks = f("seed.copy.app-db").what.split(" chunks")[0]
        add(f"ingestion, {chunks} chunks without the HNSW index: app-db binary COPY vs"
            " `psql \\copy` CSV (alternating)", "connect + load; psql whole process",
            vs("seed.copy.app-db", "seed.copy.psql"))
        add("… ratio app-db / psql rows/s (paired runs)", "connect + load", f("seed.copy.ratio").cell())
    if f("seed.rebuilt.copy"):
        chunks = f("seed.rebuilt.copy").what.split(" chunks")[0]
        add(f"ingestion, {chunks} chunks, `seed --demo` path (one transaction): COPY vs HNSW build + ANALYZE",
            "in process", vs("seed.rebuilt.copy", "seed.rebuilt.index"))
    # Every tenant class of the adaptive (default) search, per data shape: the mean recall, the
    # worst single query (the recall line's min), the share of queries below 0.5, p50, p95.
    # (`rag.adaptive.CLASS.*` is the single-shape form of raw files written before issue 21.)
    for fig in figures.values():
        m = re.fullmatch(r"rag\.(?:(spread|shared)\.)?adaptive\.(.+)\.recall", fig.id)
        if not m:
            continue
        prefix = fig.id[: -len(".recall")]
        lat, p95, below = f(f"{prefix}.latency"), f(f"{prefix}.p95"), f(f"{prefix}.below-half")
        what = fig.what.split(":")[0]
        share = f"{100 * below.median:.0f}%" if below else "-"
        floor_met = below.median == 0 if below else fig.min >= 0.5
        add(what, "in process, per search",
            f"recall@10 mean {fig.value(fig.median)}, worst query {fig.value(fig.min)},"
            f" queries < 0.5: {share}; p50 {lat.value(lat.median) if lat else '-'},"
            f" p95 {p95.value(p95.median) if p95 else '-'} (n={fig.n})",
            "mean >= 0.95, no query < 0.5, p50 <= 10 ms, p95 <= 30 ms (issues 11, 21): "
            + ("met" if fig.median >= 0.95 and floor_met and lat and lat.median <= 10 and p95
               and p95.median <= 30 else "**missed**"))
    return md_table(["what", "boundary", "median (min–max, n)", "goal"], rows)


def write(args):
    root = pathlib.Path(args.root)
    raw = root / RAW
    facts = read_facts(args.facts)
    figures = read_results(raw)
    missing = [step for step in STEPS if not (raw / f"{step}.txt").exists()]
    if missing:
        sys.exit(f"report.py: no raw output of {', '.join(missing)} in {raw}: run benches/run-all.sh")
    rag_tables = parse_rag(raw)
    table = headline(figures, facts)
    dirty = facts.get("dirty", "0") != "0"
    lines = [
        "# Benchmark results",
        "",
        "Written by `benches/run-all.sh`"
        + (" **--quick** (a check that the benchmarks run, not figures to quote)" if facts.get("mode") == "quick" else "")
        + "; do not edit by hand. README's benchmark table is copied from the block below.",
        "",
        f"- commit `{facts.get('commit')}`" + (" with uncommitted changes" if dirty else "") + f", {facts.get('date')}",
        f"- machine: {facts.get('cores')} cores, {facts.get('memory')}, {facts.get('cpu')}, {facts.get('kernel')}",
        f"- load average (1, 5, 15 min): {facts.get('load_before')} before, {facts.get('load_after')} after",
        f"- PostgreSQL {facts.get('postgres')}, pgvector {facts.get('pgvector')}; {facts.get('rustc')} (release build);"
        f" Node.js {facts.get('node')}, drizzle-orm {facts.get('drizzle')}",
        f"- runs: N = {facts.get('runs')} per process figure (alternating or rotating the sides every run),"
        f" {facts.get('cold_runs')} for first use, {facts.get('iterations')} iterations in process,"
        f" {facts.get('ingest_runs')} per ingestion and demo cell",
        f"- sizes: demo {facts.get('demo_orgs')} organizations, seed_copy {facts.get('chunks')} chunks,"
        f" rag_search {facts.get('rag_chunks')} chunks, build {facts.get('build_count')} migrations,"
        f" lock_queue reader held {facts.get('lock_hold', '?')} s",
        "",
        "Boundaries: *whole process* is from spawning the program until it has exited and been reaped,"
        " connection and start-up included, every side on the same server and data;"
        " *in process* excludes process start. Peak memory is the maximum resident set size"
        " reported by GNU time (`%M`, as in `/usr/bin/time -v`). Ratios are the median of the ratios"
        " of runs taken next to each other. Why figures are what they are, and what bounds those"
        " that miss a goal: [bench-migrator.md](bench-migrator.md).",
        "",
        "## Headline",
        "",
        BEGIN,
        table,
        END,
        "",
        "## Every figure",
        "",
    ]
    by_step = {}
    for fig in figures.values():
        by_step.setdefault(fig.step, []).append(fig)
    for step, figs in by_step.items():
        lines += [f"### {step} ([raw output](bench-raw/{step}.txt))", ""]
        lines.append(md_table(["id", "what", "median", "min", "max", "n", "goal"],
                              [[f"`{x.id}`", x.what, x.value(x.median), x.value(x.min), x.value(x.max),
                                str(x.n), x.goal()] for x in figs]))
        lines.append("")
    if rag_tables:
        lines += ["### rag_search ([raw output](bench-raw/rag_search.txt))", ""]
        for heading, header, rows in rag_tables:
            lines += [heading, "", md_table(header, rows), ""]
    out = root / RESULTS_MD
    out.write_text("\n".join(lines).rstrip() + "\n")
    replace_block(root / "README.md", table)


def block(path):
    text = path.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"report.py: {path} has no {BEGIN} … {END} block: run benches/run-all.sh")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def replace_block(path, table):
    text = path.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"report.py: {path} has no {BEGIN} … {END} block to fill: add the two markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + BEGIN + "\n" + table + "\n" + END + tail)


def tables(args):
    """Only the two headline blocks, again from the raw files (when the table's form changed)."""
    root = pathlib.Path(args.root)
    table = headline(read_results(root / RAW), {})
    for name in ("README.md", RESULTS_MD):
        replace_block(root / name, table)
    print(f"rewrote the benchmark tables of README.md and {RESULTS_MD} from {RAW}/")


def check(args):
    root = pathlib.Path(args.root)
    expected = headline(read_results(root / RAW), {})
    for name in ("README.md", RESULTS_MD):
        if block(root / name) != expected:
            sys.exit(f"{name}'s benchmark table differs from the table the bench-result lines of"
                     f" {RAW}/ give: it is generated, never typed; run benches/run-all.sh (or"
                     " restore the raw output it was made from)")
    print(f"README.md's and {RESULTS_MD}'s benchmark tables equal the one {RAW}/ gives")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True)
    p.add_argument("--check", action="store_true")
    p.add_argument("--facts")
    p.add_argument("--tables", action="store_true")
    args = p.parse_args()
    if args.check:
        check(args)
    elif args.tables:
        tables(args)
    elif args.facts:
        write(args)
    else:
        p.error("give --check, --tables, or --facts")


if __name__ == "__main__":
    main()
