//! Embeds the Drizzle migration folder; all logic lives in `src/journal/` (shared with run time).

#[allow(dead_code, unused_imports)]
#[path = "src/journal/mod.rs"]
mod journal;

fn main() -> std::process::ExitCode {
    journal::codegen::build_script_main()
}
