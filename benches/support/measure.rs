//! What the benchmarks share: the summary of N samples, the `bench-result` line that
//! `benches/run-all.sh` collects, timing a whole child process, and its peak memory.
//!
//! Included with `#[path]` by the benchmarks that need it.
#![allow(dead_code)]

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

/// The summary of `samples` (the median of an even count is the mean of the middle two).
pub fn summarize(samples: &[f64]) -> Summary {
    assert!(!samples.is_empty(), "no samples to summarize");
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Summary {
        median,
        min: sorted[0],
        max: sorted[n - 1],
        n,
    }
}

/// Prints the machine-readable line `benches/run-all.sh` turns into docs/bench-results.md:
/// `bench-result<TAB>id<TAB>what<TAB>median<TAB>min<TAB>max<TAB>n<TAB>unit`.
pub fn report(id: &str, what: &str, samples: &[f64], unit: &str) -> Summary {
    let s = summarize(samples);
    println!(
        "bench-result\t{id}\t{what}\t{:.3}\t{:.3}\t{:.3}\t{}\t{unit}",
        s.median, s.min, s.max, s.n
    );
    s
}

/// Milliseconds of each duration.
pub fn millis(samples: &[Duration]) -> Vec<f64> {
    samples.iter().map(|d| d.as_secs_f64() * 1e3).collect()
}

/// Element-wise ratios `a[i] / b[i]` of paired samples (taken next to each other in time).
pub fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// One whole-process run: wall time from spawn to reaping, status and output.
#[derive(Debug)]
pub struct ProcessRun {
    pub wall: Duration,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ProcessRun {
    /// Panics with the output when the process failed: a failed step ends the benchmark.
    pub fn expect_success(self, what: &str) -> Self {
        assert!(
            self.status.success(),
            "{what} failed ({}):\n{}{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `cmd` to completion, timing it from spawn until it is reaped. Output goes to files, not
/// pipes, so that reading it costs the child nothing while it runs.
pub fn run_process(cmd: &mut Command) -> ProcessRun {
    let dir = std::env::temp_dir();
    let id = std::process::id();
    let out_path = dir.join(format!("app-db-bench-{id}.stdout"));
    let err_path = dir.join(format!("app-db-bench-{id}.stderr"));
    let out = std::fs::File::create(&out_path).expect("create the stdout file");
    let err = std::fs::File::create(&err_path).expect("create the stderr file");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let mut child = child;
    let status = child.wait().expect("wait for the child");
    let wall = started.elapsed();
    let read = |p: &std::path::Path| {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        let _ = std::fs::remove_file(p);
        text
    };
    ProcessRun {
        wall,
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Peak resident memory of `cmd` in MiB, from GNU time (`/usr/bin/time -f %M`), in a run of
/// its own. Not from our own `wait4`: Linux carries the peak of the memory a child had before
/// `exec` (a copy of this benchmark's) into the child's figure, while GNU time's own
/// footprint is about 2 MiB, below what it measures here.
pub fn peak_memory_mib(cmd: &Command) -> f64 {
    let file = std::env::temp_dir().join(format!("app-db-bench-{}.time", std::process::id()));
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .args(["-f", "%M", "-o"])
        .arg(&file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(key, v),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    run_process(&mut wrapped).expect_success(&format!(
        "{:?} under /usr/bin/time (install GNU time: apt-get install time)",
        cmd.get_program()
    ));
    let text = std::fs::read_to_string(&file).expect("read GNU time's output");
    let _ = std::fs::remove_file(&file);
    let kib: f64 = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time printed {text:?}"));
    kib / 1024.0
}

/// The release build of the command line, which is what users run: `APP_DB_CLI`, else
/// `<target>/release/migration`. Panics, saying how to build it, when it is missing.
pub fn release_cli() -> std::path::PathBuf {
    let path = std::env::var_os("APP_DB_CLI")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("release/migration")
        });
    assert!(
        path.is_file(),
        "no release build of the command line at {}: run `cargo build --release -p migration` \
         (benches/run-all.sh does) or set APP_DB_CLI to the binary",
        path.display()
    );
    path
}

/// A positive count from the environment variable `var`, else `default`.
pub fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// The load average, which says how far to trust the figures of a shared machine.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
