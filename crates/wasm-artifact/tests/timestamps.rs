//! `Timestamp` against GNU `date`, another implementation of the calendar:
//! the RFC 3339 text of thousands of moments across the years 0000 to 9999
//! (leap days, century years, both sides of the epoch), and the Unix
//! seconds of times written with offsets and fractions.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use test_support::require_tool;
use wasm_artifact::Timestamp;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const FIRST: i64 = -62_167_219_200;
const LAST: i64 = 253_402_300_799;

/// GNU `date -u -f -` over `lines`, printing `format`: one output line each.
fn gnu_date(lines: &[String], format: &str) -> Vec<String> {
    let mut child = Command::new(require_tool("date", "coreutils"))
        .args(["-u", "-f", "-", format])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from another thread: `date` answers as it reads, and a pipe
    // holds only so much of its answer until it is read.
    let mut input = child.stdin.take().unwrap();
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "date failed");
    let text = String::from_utf8(output.stdout).unwrap();
    let out: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(out.len(), lines.len());
    out
}

/// Moments to check: the ends of the range, the epoch, midnights around
/// leap days and century years, and pseudo-random seconds over the range.
fn moments() -> Vec<i64> {
    let mut seconds = vec![FIRST, FIRST + 1, LAST, LAST - 1, -1, 0, 1];
    for year_start in [
        "0000-02-28",
        "0000-02-29",
        "0000-03-01",
        "0001-01-01",
        "0100-02-28",
        "0100-03-01",
        "0400-02-29",
        "1582-10-15",
        "1899-12-31",
        "1900-02-28",
        "1900-03-01",
        "1969-12-31",
        "1970-01-01",
        "1999-12-31",
        "2000-02-29",
        "2000-03-01",
        "2000-12-31",
        "2024-02-29",
        "2038-01-19",
        "2100-02-28",
        "2100-03-01",
        "2400-02-29",
        "9999-02-28",
        "9999-12-31",
    ] {
        let t: Timestamp = format!("{year_start}T00:00:00Z").parse().unwrap();
        for delta in [-86_400, -1, 0, 1, 86_399, 86_400] {
            let s = t.unix_seconds() + delta;
            if (FIRST..=LAST).contains(&s) {
                seconds.push(s);
            }
        }
    }
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let span = (LAST - FIRST) as u64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        seconds.push(FIRST + (state % span) as i64);
    }
    seconds
}

#[test]
fn rfc_3339_text_equals_what_gnu_date_prints() {
    let seconds = moments();
    let lines: Vec<String> = seconds.iter().map(|s| format!("@{s}")).collect();
    let expected = gnu_date(&lines, "+%4Y-%m-%dT%H:%M:%SZ");
    for (s, expected) in seconds.iter().zip(expected) {
        let t = Timestamp::from_unix_seconds(*s).unwrap();
        assert_eq!(t.to_string(), expected, "{s}");
        assert_eq!(t.unix_seconds(), *s);
        // And back: the text parses to the same moment.
        assert_eq!(expected.parse::<Timestamp>().unwrap(), t, "{expected}");
    }
}

/// Times with offsets east and west of UTC and fractions, each parsed by
/// us and by `date` (`+%s.%N`: seconds and nanoseconds).
#[test]
fn times_with_offsets_and_fractions_parse_as_gnu_date_reads_them() {
    let mut texts = Vec::new();
    let offsets = [
        "Z", "+00:00", "+05:30", "-08:00", "+14:00", "-12:45", "+23:59", "-23:59",
    ];
    let fractions = ["", ".5", ".000000001", ".123456789", ".9"];
    for (i, s) in moments().iter().step_by(7).enumerate() {
        let utc = Timestamp::from_unix_seconds(*s).unwrap().to_string();
        let local = utc.trim_end_matches('Z');
        let text = format!(
            "{local}{}{}",
            fractions[i % fractions.len()],
            offsets[i % offsets.len()]
        );
        texts.push(text);
    }
    let expected = gnu_date(&texts, "+%s.%N");
    let mut compared = 0;
    for (text, expected) in texts.iter().zip(expected) {
        let (seconds, nanos) = expected.split_once('.').unwrap();
        let seconds: i64 = seconds.parse().unwrap();
        let nanos: u32 = nanos.parse().unwrap();
        match text.parse::<Timestamp>() {
            Ok(t) => {
                assert_eq!(t.unix_seconds(), seconds, "{text}");
                let shown = t.to_string();
                let fraction = if nanos == 0 {
                    String::new()
                } else {
                    format!(".{}", format!("{nanos:09}").trim_end_matches('0'))
                };
                assert!(shown.ends_with(&format!("{fraction}Z")), "{text}: {shown}");
                compared += 1;
            }
            // Only a local time whose UTC falls outside 0000 to 9999.
            Err(_) => assert!(!(FIRST..=LAST).contains(&seconds), "{text} refused"),
        }
    }
    assert!(compared > 400, "{compared}");
}

/// Which dates exist: for every month of every year from 0000 to 9999,
/// GNU `date` names its last day (the 1st plus a month less a day); that
/// day parses and the day after it is refused. Found by mutation testing:
/// the text of a moment never depends on the leap-year rule, only which
/// dates parse does, and no test parsed a 29 February of a century year.
#[test]
fn the_last_day_of_every_month_parses_and_the_day_after_is_refused() {
    let months: Vec<(i64, i64)> = (0..=9999)
        .flat_map(|year| (1..=12).map(move |month| (year, month)))
        .collect();
    let lines: Vec<String> = months
        .iter()
        .map(|(year, month)| format!("{year:04}-{month:02}-01 +1 month -1 day"))
        .collect();
    let last_days = gnu_date(&lines, "+%d");
    let mut leap_years = 0;
    for ((year, month), last) in months.iter().zip(last_days) {
        let last: u32 = last.parse().unwrap();
        let day = |day: u32| format!("{year:04}-{month:02}-{day:02}T00:00:00Z");
        assert!(
            day(last).parse::<Timestamp>().is_ok(),
            "{} refused",
            day(last)
        );
        assert!(
            day(last + 1).parse::<Timestamp>().is_err(),
            "{} accepted",
            day(last + 1)
        );
        if *month == 2 && last == 29 {
            leap_years += 1;
        }
    }
    // The 2500 multiples of 4 from 0 to 9996, less the 75 century years
    // that are not multiples of 400.
    assert_eq!(leap_years, 2425);
}
