//! `down`: refused. Drizzle migrations are forward-only.

use app_db::Error;

pub fn run() -> Result<u8, Error> {
    Err(Error::Refused {
        reason: "down is not supported: Drizzle migrations are forward-only (there are no down files, and drizzle-orm never reverts)".into(),
        fix: "undo the change with a new migration: `migration generate <name> --custom`, write the reverting SQL in it, build, then `migration up`".into(),
    })
}
