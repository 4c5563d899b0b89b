//! The same shim as app-db's build.rs.

#[allow(dead_code, unused_imports)]
#[path = "../../src/journal/mod.rs"]
mod journal;

fn main() -> std::process::ExitCode {
    journal::codegen::build_script_main()
}
