//! README's test command (`scripts/test`), run as a user who is not root: it must stop before
//! building anything and say exactly what to install and how, instead of failing in the middle
//! of the suite. (As root it installs what is missing and runs the suite: that is how `.ci/run`
//! runs every test, including this one.)

use std::path::Path;
use std::process::Command;

#[test]
fn as_a_normal_user_it_says_what_is_missing_before_building_anything() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test");
    assert!(
        script.is_file(),
        "{} is README's test command",
        script.display()
    );
    // setpriv (util-linux) drops to `nobody` for the one run; the suite itself runs as root.
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(&script)
        .arg("--no-run")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .expect("setpriv (Debian: util-linux) runs the script as nobody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Operation not permitted"),
        "this test runs the script as another user, which needs root: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nothing was built or run") && stderr.contains("as root"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Compiling"),
        "it stopped before building"
    );
    // Every Debian package it needs that this machine lacks is named, with the command.
    for (program, package) in [
        ("pgbouncer", "pgbouncer"),
        ("unshare", "util-linux"),
        ("ip", "iproute2"),
    ] {
        let installed = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
            .iter()
            .any(|dir| Path::new(dir).join(program).exists());
        if !installed {
            assert!(
                stderr.contains("apt-get install -y") && stderr.contains(package),
                "{package} is missing here and should be named: {stderr}"
            );
        }
    }
}
