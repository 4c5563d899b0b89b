//! `baseline --to <tag>`: adopt a database migrated without bookkeeping.

use app_db::Error;

use super::recording::{self, Kind};
use crate::cli::{GlobalArgs, VerifyArgs};

pub async fn run(global: &GlobalArgs, tag: &str, args: &VerifyArgs) -> Result<u8, Error> {
    recording::run(global, tag, args, Kind::Baseline).await
}
