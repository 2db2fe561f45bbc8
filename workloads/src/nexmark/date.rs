//! Flink's `DATE_FORMAT` of an event time (ms since 1970-01-01 00:00 UTC), for the
//! queries that group or partition by the day (q10, q15-q17): `yyyy-MM-dd` and `HH:mm`.
//!
//! Written here rather than taken from the `time` crate: event times reach 2^62 ms (year
//! 146 million), past the years `time` represents, and q10 formats every bid. The
//! baselines use their own calendar arithmetic ([`crate::baseline`]), so the two check
//! each other.

/// Milliseconds in a day (UTC has no leap seconds in Unix time).
pub const DAY_MS: u64 = 86_400_000;

/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const UNIX_EPOCH_FROM_MARCH_0000: u64 = 719_468;
/// Days in 400 Gregorian years.
const ERA_DAYS: u64 = 146_097;

/// The civil date `(year, month, day)` of day number `days` (days since 1970-01-01).
/// Counts years from March, so the leap day ends a year (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + UNIX_EPOCH_FROM_MARCH_0000;
    let era = z / ERA_DAYS;
    let day_of_era = z % ERA_DAYS;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The day number (days since 1970-01-01) of a civil date, the inverse of
/// [`civil_from_days`]; `None` before 1970 or for a month or day out of range.
pub fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let year = year - u64::from(month <= 2);
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * ERA_DAYS + day_of_era).checked_sub(UNIX_EPOCH_FROM_MARCH_0000)
}

/// `yyyy-MM-dd` of the day holding `time_ms`.
pub fn day(time_ms: u64) -> String {
    let (year, month, day) = civil_from_days(time_ms / DAY_MS);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `HH:mm` of `time_ms`.
pub fn hour_minute(time_ms: u64) -> String {
    let minute_of_day = time_ms % DAY_MS / 60_000;
    format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// The first millisecond of a `yyyy-MM-dd` day, as [`day`] writes it; `None` if `text`
/// is not such a day.
pub fn day_start_ms(text: &str) -> Option<u64> {
    let mut parts = text.splitn(3, '-').map(|part| part.parse::<u64>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    days_from_civil(year, month, day)?.checked_mul(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_flinks_date_format_in_utc() {
        // (ms, yyyy-MM-dd, HH:mm), pinned from the calendar, leap days included.
        for (ms, expected_day, expected_time) in [
            (0, "1970-01-01", "00:00"),
            (DAY_MS - 1, "1970-01-01", "23:59"),
            (68_169_600_000, "1972-02-29", "00:00"), // 1972 is a leap year
            (951_782_400_000 + 3_723_000, "2000-02-29", "01:02"), // so is 2000
            (951_868_800_000, "2000-03-01", "00:00"),
            (4_107_542_400_000, "2100-03-01", "00:00"), // 2100 is not
            (253_402_300_799_999, "9999-12-31", "23:59"),
            (253_402_300_800_000, "10000-01-01", "00:00"),
        ] {
            assert_eq!(
                (day(ms), hour_minute(ms)),
                (expected_day.to_string(), expected_time.to_string()),
                "{ms}"
            );
            assert_eq!(
                day_start_ms(expected_day),
                Some(ms - ms % DAY_MS),
                "{expected_day}"
            );
        }
    }

    #[test]
    fn every_day_round_trips_and_the_largest_event_time_has_a_date() {
        for days in (0..800_000).chain([u64::MAX / DAY_MS / 4]) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                days_from_civil(year, month, day),
                Some(days),
                "{year}-{month}-{day}"
            );
        }
        assert!(day(1 << 62).starts_with("146140482-"));
        assert_eq!(day_start_ms("1970-13-01"), None);
        assert_eq!(day_start_ms("1969-12-31"), None);
        assert_eq!(day_start_ms("not a day"), None);
    }
}
