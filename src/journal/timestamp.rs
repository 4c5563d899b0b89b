//! drizzle 1.0's folder times: `<YYYYMMDDHHMMSS>` in UTC, to the second.
//!
//! drizzle-kit 1.0 names a migration folder after the UTC time it was generated (and
//! `drizzle-kit up` after each journal entry's `when`); drizzle-orm 1.0 reads the first 14
//! characters back with `Date.UTC` and stores the result as `created_at`. Pure arithmetic on
//! the proleptic Gregorian calendar, with `std` only (this module is compiled into `build.rs`).

/// The number of characters of the time at the start of a 1.0 folder name.
pub const TIMESTAMP_LEN: usize = 14;

const MS_PER_DAY: i64 = 86_400_000;

/// `YYYYMMDDHHMMSS` of `ms` (epoch milliseconds) in UTC, as drizzle-kit writes folder names.
pub fn folder_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let of_day = ms.rem_euclid(MS_PER_DAY) / 1000;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The epoch milliseconds of the `YYYYMMDDHHMMSS` that starts `folder`, or `None` when it does
/// not start with 14 digits forming a real date and time (month 01-12, a day the month has,
/// hour 00-23, minute and second 00-59).
///
/// drizzle-orm 1.0 passes the digits to `Date.UTC`, which silently rolls an impossible date
/// over (month 13 becomes January of the next year); such a folder is refused instead.
pub fn parse_folder_timestamp(folder: &str) -> Option<i64> {
    let digits = folder.as_bytes().get(..TIMESTAMP_LEN)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
    };
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    let (hour, minute, second) = (number(8..10), number(10..12), number(12..14));
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * MS_PER_DAY + (hour * 3600 + minute * 60 + second) * 1000)
}

/// The folder name `drizzle-kit up` gives a journal entry: the UTC time of `when`, `_`, and
/// the tag after its first `_` (`0003_add_members` → `20250519133744_add_members`; a tag
/// without `_` gives a name ending in `_`).
pub fn upgraded_name(tag: &str, when: i64) -> String {
    let rest = tag.split_once('_').map_or("", |(_, rest)| rest);
    format!("{}_{rest}", folder_timestamp(when))
}

/// `ms` truncated to its second, as drizzle-orm 1.0 compares `created_at` when it upgrades a
/// 0.x bookkeeping table: it drops the last three decimal digits of the number's text.
pub fn to_the_second(ms: i64) -> i64 {
    let text = ms.to_string();
    let keep = text.len().saturating_sub(3);
    // "-5" keeps "", "-1234" keeps "-1": the text is cut, not the number rounded.
    format!("{}000", &text[..keep]).parse().unwrap_or(0)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_to_the_second() {
        // 2025-03-04T10:12:37.418Z, the project's first journal entry.
        assert_eq!(folder_timestamp(1_741_083_157_418), "20250304101237");
        assert_eq!(folder_timestamp(0), "19700101000000");
        assert_eq!(folder_timestamp(951_782_400_000), "20000229000000");
        assert_eq!(folder_timestamp(1_798_761_599_999), "20261231235959");
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [
            0,
            951_782_400_000,
            1_741_083_157_000,
            1_798_761_599_000,
            4_102_444_800_000,
        ] {
            assert_eq!(parse_folder_timestamp(&folder_timestamp(ms)), Some(ms));
        }
        assert_eq!(
            parse_folder_timestamp("20250304101237_auth"),
            Some(1_741_083_157_000)
        );
    }

    #[test]
    fn refuses_what_is_no_time() {
        for bad in [
            "2025030410123_x",
            "2025030410123x_x",
            "20251304101237_x",
            "20250230101237_x",
            "20230229000000_x",
            "20250304241237_x",
            "20250304106037_x",
            "20250304101260_x",
            "20250000101237_x",
            "auth",
            "",
        ] {
            assert_eq!(parse_folder_timestamp(bad), None, "{bad}");
        }
        assert!(parse_folder_timestamp("20240229000000_leap").is_some());
    }

    #[test]
    fn names_journal_entries_as_drizzle_kit_up_does() {
        assert_eq!(
            upgraded_name("0000_auth", 1_741_083_157_418),
            "20250304101237_auth"
        );
        assert_eq!(
            upgraded_name("0008_saas_metrics_daily", 1_741_083_157_418),
            "20250304101237_saas_metrics_daily"
        );
        assert_eq!(upgraded_name("teams", 1_741_083_157_418), "20250304101237_");
        assert_eq!(
            upgraded_name("20240101120000_init", 1_741_083_157_418),
            "20250304101237_init"
        );
    }

    #[test]
    fn cuts_created_at_to_the_second_as_text() {
        assert_eq!(to_the_second(1_741_083_157_418), 1_741_083_157_000);
        assert_eq!(to_the_second(1_741_083_157_000), 1_741_083_157_000);
        assert_eq!(to_the_second(999), 0);
        assert_eq!(to_the_second(5), 0);
        assert_eq!(to_the_second(-5), 0);
        assert_eq!(to_the_second(-1234), -1000);
    }
}
