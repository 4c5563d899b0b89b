//! `mark-applied <tag>`: record out-of-band applies after verifying the schema.

use app_db::Error;

use super::recording::{self, Kind};
use crate::cli::{GlobalArgs, VerifyArgs};

pub async fn run(global: &GlobalArgs, tag: &str, args: &VerifyArgs) -> Result<u8, Error> {
    recording::run(global, tag, args, Kind::MarkApplied).await
}
