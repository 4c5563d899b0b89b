//! The loopback guard sees the `PG*` defaults the driver applies when a URL names no host.
//! One test in its own binary: it sets process environment variables, which no other test
//! of this process may race with.

use app_db::url::DbUrl;

#[test]
fn an_empty_host_takes_pghost_and_pghostaddr_as_the_driver_does() {
    let local = |url: &str| {
        DbUrl::parse(url, "DATABASE_URL")
            .expect("parses")
            .is_loopback()
    };
    // SAFETY: the only test in this binary, run before any other thread reads the environment.
    unsafe {
        std::env::remove_var("PGHOSTADDR");
        std::env::set_var("PGHOST", "192.0.2.1");
    }
    assert!(!local("postgres:///app"), "PGHOST=192.0.2.1 is remote");
    assert!(
        !local("postgres:///app?user=app"),
        "PGHOST=192.0.2.1 is remote"
    );
    // A host in the URL wins over PGHOST.
    assert!(local("postgres://app@127.0.0.1/app"));
    unsafe {
        std::env::set_var("PGHOST", "localhost");
        std::env::set_var("PGHOSTADDR", "10.9.8.7");
    }
    assert!(
        !local("postgres:///app"),
        "PGHOSTADDR wins over PGHOST in the driver"
    );
    unsafe {
        std::env::remove_var("PGHOSTADDR");
        std::env::set_var("PGHOST", "127.0.0.1");
    }
    assert!(local("postgres:///app"));
}
