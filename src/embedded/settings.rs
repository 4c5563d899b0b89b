//! Server settings an embedded cluster gets for vector work, decided from the machine and the
//! pgvector version of the binaries.
//!
//! - `maintenance_work_mem`: an HNSW build is several times faster while its graph fits in it
//!   (pgvector spills to disk otherwise). A 1536-d graph takes about 7 KB a row, so 100,000 chunks
//!   need about 0.7 GB. The setting is an eighth of the machine's memory, between 64 MB
//!   (PostgreSQL's default) and 2 GB, so a small machine is never asked for more than it has. It
//!   is a ceiling, not an allocation: only a running build uses it.
//! - `shared_buffers`: a search walks the HNSW graph and the heap pages of its candidates, about
//!   0.8 GB each at 100,000 1536-d chunks. PostgreSQL's default (128 MB) holds neither, so every
//!   search copies most of its pages in from the kernel's cache again: at 100,000 chunks the
//!   largest tenant's p50 was 9.8 ms with 128 MB and 6.9 ms with 2 GB, p95 14.2 against 8.2 ms
//!   (docs/bench-rag.md). Also an eighth of the machine's memory (the embedded server shares the
//!   machine with the app), between 128 MB and 4 GB; the memory is taken as pages are used.
//! - `max_parallel_maintenance_workers = 0` unless the binaries carry pgvector 0.8.2 or later:
//!   parallel HNSW builds of pgvector 0.6.0-0.8.1 have a buffer overflow (CVE-2026-3172).

use std::path::Path;

use crate::rag::PgvectorVersion;

/// The smallest and largest `maintenance_work_mem` chosen, in MiB.
pub const MAINTENANCE_WORK_MEM_MB: std::ops::RangeInclusive<u64> = 64..=2048;
/// The smallest and largest `shared_buffers` chosen, in MiB.
pub const SHARED_BUFFERS_MB: std::ops::RangeInclusive<u64> = 128..=4096;
/// The first pgvector release whose parallel HNSW build is safe.
pub const SAFE_PARALLEL_BUILD: PgvectorVersion = PgvectorVersion::new(0, 8, 2);

/// `maintenance_work_mem` in MiB for a machine with `mem_total_kib` of memory (unknown: the
/// smallest value).
pub fn maintenance_work_mem_mb(mem_total_kib: Option<u64>) -> u64 {
    eighth_of_memory_mb(mem_total_kib, MAINTENANCE_WORK_MEM_MB)
}

/// `shared_buffers` in MiB for a machine with `mem_total_kib` of memory (unknown: PostgreSQL's
/// default).
pub fn shared_buffers_mb(mem_total_kib: Option<u64>) -> u64 {
    eighth_of_memory_mb(mem_total_kib, SHARED_BUFFERS_MB)
}

/// An eighth of `mem_total_kib`, in MiB, within `bounds` (unknown memory: the lower bound).
fn eighth_of_memory_mb(mem_total_kib: Option<u64>, bounds: std::ops::RangeInclusive<u64>) -> u64 {
    let (min, max) = (*bounds.start(), *bounds.end());
    mem_total_kib.map_or(min, |kib| (kib / 1024 / 8).clamp(min, max))
}

/// `MemTotal` from a `/proc/meminfo` text, in KiB.
pub fn mem_total_kib(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("MemTotal:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// `default_version` from an extension's `.control` file.
pub fn control_default_version(control: &str) -> Option<PgvectorVersion> {
    control.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        if key.trim() != "default_version" {
            return None;
        }
        PgvectorVersion::parse(value.trim().trim_matches('\''))
    })
}

/// The `postgresql.conf` lines for vector work (see the module docs). An unknown pgvector
/// version is treated as vulnerable.
pub fn vector_settings(mem_total_kib: Option<u64>, pgvector: Option<PgvectorVersion>) -> String {
    let mut lines = format!(
        "# app-db: room for an HNSW graph of ~100k 1536-d chunks where the machine has it\n\
         maintenance_work_mem = '{}MB'\n\
         # app-db: the graph and the heap a search walks stay in PostgreSQL's own cache\n\
         shared_buffers = '{}MB'\n",
        maintenance_work_mem_mb(mem_total_kib),
        shared_buffers_mb(mem_total_kib)
    );
    if pgvector.is_none_or(|v| v < SAFE_PARALLEL_BUILD) {
        lines.push_str(
            "# app-db: no parallel HNSW builds before pgvector 0.8.2 (CVE-2026-3172)\n\
             max_parallel_maintenance_workers = 0\n",
        );
    }
    lines
}

/// The pgvector version of the installation whose `bin` folder is `bin`, from its
/// `vector.control` (relocatable builds keep `share/` beside `bin/`, distributions under
/// `share/postgresql/`).
pub fn installed_pgvector(bin: &Path) -> Option<PgvectorVersion> {
    let root = bin.parent()?;
    ["share/postgresql/extension", "share/extension"]
        .iter()
        .map(|dir| root.join(dir).join("vector.control"))
        .find_map(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| control_default_version(&text))
}

/// [`vector_settings`] for this machine and the installation in `bin`.
pub fn for_this_machine(bin: &Path) -> String {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    vector_settings(mem_total_kib(&meminfo), installed_pgvector(bin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_work_mem_is_an_eighth_of_memory_within_bounds() {
        assert_eq!(maintenance_work_mem_mb(None), 64);
        assert_eq!(maintenance_work_mem_mb(Some(256 * 1024)), 64);
        assert_eq!(maintenance_work_mem_mb(Some(8 * 1024 * 1024)), 1024);
        assert_eq!(maintenance_work_mem_mb(Some(64 * 1024 * 1024)), 2048);
    }

    #[test]
    fn shared_buffers_is_an_eighth_of_memory_within_bounds() {
        assert_eq!(shared_buffers_mb(None), 128);
        assert_eq!(shared_buffers_mb(Some(512 * 1024)), 128);
        assert_eq!(shared_buffers_mb(Some(8 * 1024 * 1024)), 1024);
        assert_eq!(shared_buffers_mb(Some(24 * 1024 * 1024)), 3072);
        assert_eq!(shared_buffers_mb(Some(64 * 1024 * 1024)), 4096);
        let lines = vector_settings(Some(24 * 1024 * 1024), None);
        assert!(lines.contains("shared_buffers = '3072MB'"), "{lines}");
    }

    #[test]
    fn meminfo_and_control_files_are_read() {
        let meminfo = "MemTotal:       24563012 kB\nMemFree:         4000000 kB\n";
        assert_eq!(mem_total_kib(meminfo), Some(24_563_012));
        assert_eq!(mem_total_kib("garbage"), None);
        let control =
            "comment = 'vector data type'\ndefault_version = '0.8.1'\nrelocatable = true\n";
        assert_eq!(
            control_default_version(control),
            Some(PgvectorVersion::new(0, 8, 1))
        );
    }

    #[test]
    fn parallel_builds_stay_off_below_0_8_2() {
        let gb8 = Some(8 * 1024 * 1024);
        let off = "max_parallel_maintenance_workers = 0";
        assert!(vector_settings(gb8, Some(PgvectorVersion::new(0, 8, 1))).contains(off));
        assert!(vector_settings(gb8, Some(PgvectorVersion::new(0, 6, 2))).contains(off));
        assert!(vector_settings(gb8, None).contains(off));
        let fixed = vector_settings(gb8, Some(PgvectorVersion::new(0, 8, 2)));
        assert!(!fixed.contains(off), "{fixed}");
        assert!(fixed.contains("maintenance_work_mem = '1024MB'"), "{fixed}");
    }
}
