//! Database URLs: parsed once by the driver's rules, and never shown with their password.
//!
//! - `redact.rs` — masking a password in any connection string, valid or not (pure).
//! - `parsed.rs` — [`DbUrl`]: the one parse that both connecting and every check use.
//! - `loopback.rs` — whether the host the driver will use is this machine (pure).

mod loopback;
mod parsed;
mod redact;

pub use loopback::{bare_host, is_loopback, is_loopback_host};
pub use parsed::DbUrl;
pub use redact::{MASK, redact, scrub, secrets};
