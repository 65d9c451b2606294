//! The `created` time of an image, as RFC 3339 in UTC.
//!
//! The library never reads the clock: the time comes in as a parameter, and
//! the default is the Unix epoch, so builds are reproducible unless asked
//! otherwise.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

/// A moment in UTC with nanosecond precision, between years 0 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: i64,
    nanos: u32,
}

/// Why a text is not an RFC 3339 time, or a number is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an RFC 3339 time such as 2024-06-25T15:58:49Z: {reason}")]
pub struct TimestampError {
    /// The text given.
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Why `SOURCE_DATE_EPOCH` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceDateEpochError {
    /// The value is not a whole number of seconds.
    #[error("SOURCE_DATE_EPOCH={value:?} is not a whole number of seconds")]
    NotSeconds {
        /// The value, as set.
        value: String,
    },
    /// The value is a number outside the years an RFC 3339 time can hold.
    #[error("SOURCE_DATE_EPOCH={seconds} is out of range: it must fall in the years 0000 to 9999")]
    OutOfRange {
        /// The value.
        seconds: i64,
    },
}

/// A [`SystemTime`] outside the years an RFC 3339 time can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{time:?} is out of range: a timestamp must fall in the years 0000 to 9999")]
pub struct SystemTimeOutOfRange {
    /// The time given.
    pub time: SystemTime,
}

const SECONDS_PER_DAY: i64 = 86_400;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const MIN_UNIX_SECONDS: i64 = -62_167_219_200;
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// 1970-01-01T00:00:00Z, the default `created` time: the fixed epoch
    /// reproducible-build tools (ko, jib, Bazel's rules_oci) use.
    pub const UNIX_EPOCH: Timestamp = Timestamp {
        unix_seconds: 0,
        nanos: 0,
    };

    /// The time `seconds` after the Unix epoch (what `SOURCE_DATE_EPOCH` holds).
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        if !(MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&seconds) {
            return Err(TimestampError {
                input: seconds.to_string(),
                reason: "outside the years 0000 to 9999",
            });
        }
        Ok(Timestamp {
            unix_seconds: seconds,
            nanos: 0,
        })
    }

    /// The `created` time of a reproducible build: `$SOURCE_DATE_EPOCH`
    /// (whole seconds since the Unix epoch, as reproducible-builds.org
    /// defines it) when set, else [`UNIX_EPOCH`](Self::UNIX_EPOCH).
    ///
    /// This reads the environment, never the clock; the `oci-tar-builder`
    /// command line uses it too, so a `build.rs` and the command line give
    /// the same bytes.
    pub fn source_date_epoch() -> Result<Self, SourceDateEpochError> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(value) => Self::from_source_date_epoch(&value),
            Err(std::env::VarError::NotPresent) => Ok(Self::UNIX_EPOCH),
            Err(std::env::VarError::NotUnicode(value)) => Err(SourceDateEpochError::NotSeconds {
                value: value.to_string_lossy().into_owned(),
            }),
        }
    }

    /// The time a `SOURCE_DATE_EPOCH` value names (surrounding white space
    /// is ignored).
    pub fn from_source_date_epoch(value: &str) -> Result<Self, SourceDateEpochError> {
        let seconds: i64 = value
            .trim()
            .parse()
            .map_err(|_| SourceDateEpochError::NotSeconds {
                value: value.to_owned(),
            })?;
        Self::from_unix_seconds(seconds).map_err(|_| SourceDateEpochError::OutOfRange { seconds })
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; the result is
    /// the same moment in UTC.
    pub fn parse_rfc3339(input: &str) -> Result<Self, TimestampError> {
        let fail = |reason| TimestampError {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() < 20 {
            return Err(fail("too short"));
        }
        let digits = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let part = &b[range];
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(fail("expected digits in YYYY-MM-DDTHH:MM:SS"));
            }
            Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(fail("expected the form YYYY-MM-DDTHH:MM:SS"));
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(fail("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("no such time of day (leap seconds are not accepted)"));
        }
        let mut rest = &b[19..];
        let mut nanos = 0u32;
        if let Some(fraction) = rest.strip_prefix(b".") {
            let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if len == 0 || len > 9 {
                return Err(fail("a fraction of a second has 1 to 9 digits"));
            }
            let value = fraction[..len]
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            nanos = value * 10u32.pow(9 - len as u32);
            rest = &fraction[len..];
        }
        let offset_seconds = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let hh = [*h1, *h2];
                let mm = [*m1, *m2];
                if !hh.iter().chain(&mm).all(u8::is_ascii_digit) {
                    return Err(fail("the offset is Z or ±HH:MM"));
                }
                let hours = i64::from((hh[0] - b'0') * 10 + (hh[1] - b'0'));
                let minutes = i64::from((mm[0] - b'0') * 10 + (mm[1] - b'0'));
                if hours > 23 || minutes > 59 {
                    return Err(fail("the offset is Z or ±HH:MM"));
                }
                let offset = hours * 3600 + minutes * 60;
                if *sign == b'+' {
                    offset
                } else {
                    -offset
                }
            }
            _ => return Err(fail("it must end in Z or an offset ±HH:MM")),
        };
        let local = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + hour * 3600
            + minute * 60
            + second;
        let unix_seconds = local - offset_seconds;
        if !(MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&unix_seconds) {
            return Err(fail("outside the years 0000 to 9999 in UTC"));
        }
        Ok(Timestamp {
            unix_seconds,
            nanos,
        })
    }
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = SystemTimeOutOfRange;

    /// The same moment, to the nanosecond; for a build that wants the
    /// clock's time (`SystemTime::now()`) or a file's modification time
    /// rather than a reproducible one.
    fn try_from(time: SystemTime) -> Result<Self, Self::Error> {
        let out_of_range = || SystemTimeOutOfRange { time };
        let (unix_seconds, nanos) = match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => (
                i64::try_from(after.as_secs()).map_err(|_| out_of_range())?,
                after.subsec_nanos(),
            ),
            Err(before) => {
                let before = before.duration();
                let seconds = i64::try_from(before.as_secs()).map_err(|_| out_of_range())?;
                // Whole seconds round down, towards the past; the
                // fraction then counts forwards from there.
                match before.subsec_nanos() {
                    0 => (-seconds, 0),
                    nanos => (-seconds - 1, 1_000_000_000 - nanos),
                }
            }
        };
        if !(MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&unix_seconds) {
            return Err(out_of_range());
        }
        Ok(Timestamp {
            unix_seconds,
            nanos,
        })
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(input)
    }
}

/// RFC 3339 in UTC with a `Z`, and a fraction only when there is one, with
/// its trailing zeros cut (as Go's `time.RFC3339Nano` writes it):
/// `1970-01-01T00:00:00Z`, `2024-06-25T15:58:49.377917735Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.unix_seconds.div_euclid(SECONDS_PER_DAY);
        let secs = self.unix_seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if self.nanos > 0 {
            let fraction = format!("{:09}", self.nanos);
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_whole_seconds_in_range() {
        assert_eq!(
            Timestamp::from_source_date_epoch(" 1719330529\n")
                .unwrap()
                .to_string(),
            "2024-06-25T15:48:49Z"
        );
        for bad in ["soon", "1.5", "", "0x10", "99999999999999999999"] {
            assert!(
                matches!(
                    Timestamp::from_source_date_epoch(bad),
                    Err(SourceDateEpochError::NotSeconds { .. })
                ),
                "{bad:?}"
            );
        }
        // 9999-12-31T23:59:59Z is the last second; one more is out of range.
        assert!(Timestamp::from_source_date_epoch("253402300799").is_ok());
        let error = Timestamp::from_source_date_epoch("253402300800").unwrap_err();
        assert_eq!(
            error,
            SourceDateEpochError::OutOfRange {
                seconds: 253_402_300_800
            }
        );
        assert!(error.to_string().contains("out of range"), "{error}");
    }

    #[test]
    fn epoch_and_known_moments() {
        assert_eq!(Timestamp::UNIX_EPOCH.to_string(), "1970-01-01T00:00:00Z");
        let t = Timestamp::from_unix_seconds(1_719_330_529).unwrap();
        assert_eq!(t.to_string(), "2024-06-25T15:48:49Z");
        assert_eq!(
            Timestamp::from_unix_seconds(951_782_400)
                .unwrap()
                .to_string(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn parses_and_normalises_to_utc() {
        for (input, expected) in [
            (
                "2024-06-25T15:58:49.377917735Z",
                "2024-06-25T15:58:49.377917735Z",
            ),
            ("2024-06-25T15:58:49.5000Z", "2024-06-25T15:58:49.5Z"),
            ("2024-06-25t15:58:49z", "2024-06-25T15:58:49Z"),
            ("2024-06-25T17:58:49+02:00", "2024-06-25T15:58:49Z"),
            ("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
            ("2000-02-29T12:00:00-05:30", "2000-02-29T17:30:00Z"),
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(input).unwrap().to_string(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn round_trips_every_day_of_several_centuries() {
        for days in (-719_000..2_932_000).step_by(97) {
            let t = Timestamp::from_unix_seconds(days * SECONDS_PER_DAY + 3723).unwrap();
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()).unwrap(), t);
        }
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for input in [
            "",
            "2024-06-25",
            "2024-06-25 15:58:49Z",
            "2024-06-25T15:58:49",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-06-31T00:00:00Z",
            "2024-06-25T24:00:00Z",
            "2024-06-25T15:58:60Z",
            "2024-06-25T15:58:49.Z",
            "2024-06-25T15:58:49.1234567891Z",
            "2024-06-25T15:58:49+0200",
            "2024-06-25T15:58:49+24:00",
            "yesterday at noon, roughly",
            "2024-06-25T15:58:49Zjunk",
            "0000-01-01T00:00:00+01:00",
            "２０24-06-25T15:58:49Z",
            // Each separator wrong on its own (found by mutation testing:
            // only the `T` was).
            "2024/06-25T15:58:49Z",
            "2024-06/25T15:58:49Z",
            "2024-06-25T15/58:49Z",
            "2024-06-25T15:58/49Z",
            // Day and month 0, an offset of 60 minutes.
            "2024-00-25T15:58:49Z",
            "2024-06-00T15:58:49Z",
            "2024-06-25T15:58:49+00:60",
        ] {
            assert!(
                Timestamp::parse_rfc3339(input).is_err(),
                "{input:?} should be refused"
            );
        }
    }

    fn parsed(text: &str) -> Timestamp {
        text.parse().expect("a valid RFC 3339 time")
    }

    #[test]
    fn system_times_convert_to_the_nanosecond_on_both_sides_of_the_epoch() {
        use std::time::Duration;
        let cases = [
            (Duration::new(1_719_330_729, 0), "2024-06-25T15:52:09Z"),
            (
                Duration::new(1_719_330_729, 123_456_789),
                "2024-06-25T15:52:09.123456789Z",
            ),
        ];
        for (after, text) in cases {
            let time = SystemTime::UNIX_EPOCH + after;
            assert_eq!(Timestamp::try_from(time).ok(), Some(parsed(text)), "{text}");
        }
        let before = SystemTime::UNIX_EPOCH - Duration::new(1, 500_000_000);
        assert_eq!(
            Timestamp::try_from(before).ok(),
            Some(parsed("1969-12-31T23:59:58.5Z"))
        );
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(
            Timestamp::try_from(before).ok(),
            Some(parsed("1969-12-31T00:00:00Z"))
        );
        assert_eq!(
            Timestamp::try_from(SystemTime::UNIX_EPOCH),
            Ok(Timestamp::UNIX_EPOCH)
        );
    }

    #[test]
    fn system_times_outside_the_years_0000_to_9999_are_refused() {
        use std::time::Duration;
        let last = SystemTime::UNIX_EPOCH + Duration::new(MAX_UNIX_SECONDS as u64, 999_999_999);
        assert_eq!(
            Timestamp::try_from(last).map(|t| t.unix_seconds()),
            Ok(MAX_UNIX_SECONDS)
        );
        let late = SystemTime::UNIX_EPOCH + Duration::from_secs(MAX_UNIX_SECONDS as u64 + 1);
        assert_eq!(
            Timestamp::try_from(late),
            Err(SystemTimeOutOfRange { time: late })
        );
        let first = SystemTime::UNIX_EPOCH - Duration::from_secs(MIN_UNIX_SECONDS.unsigned_abs());
        assert_eq!(
            Timestamp::try_from(first).map(|t| t.unix_seconds()),
            Ok(MIN_UNIX_SECONDS)
        );
        let early = first - Duration::from_nanos(1);
        let error = Timestamp::try_from(early).unwrap_err();
        assert_eq!(error, SystemTimeOutOfRange { time: early });
        assert!(error.to_string().contains("years 0000 to 9999"), "{error}");
    }

    #[test]
    fn unix_seconds_out_of_range_are_refused() {
        assert!(Timestamp::from_unix_seconds(MAX_UNIX_SECONDS).is_ok());
        assert!(Timestamp::from_unix_seconds(MAX_UNIX_SECONDS + 1).is_err());
        assert!(Timestamp::from_unix_seconds(MIN_UNIX_SECONDS - 1).is_err());
    }
}
