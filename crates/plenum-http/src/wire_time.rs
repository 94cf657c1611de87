//! Instants as the history dialects write them, digit by digit.
//!
//! A history answer carries up to a few hundred instants (Telnyx: five per recording), and
//! `strftime` parses its format string and builds a broken-down time for each: measurably more
//! than writing the digits. These write exactly what the dialects' `strftime` formats wrote
//! (the tests compare them); years outside 0..=9999 still go through `strftime`.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// `2021-04-16T09:46:20.954000Z`: an instant in UTC, with `fraction` digits of the second
/// (truncated), as `%Y-%m-%dT%H:%M:%S%.{fraction}fZ` writes it. Serialised straight into an
/// answer, without a `String` per instant (a Telnyx page writes a hundred of them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Utc {
    t: Timestamp,
    fraction: u32,
}

impl Utc {
    pub(crate) fn new(t: Timestamp, fraction: u32) -> Self {
        Self {
            t,
            fraction: fraction.min(9),
        }
    }

    /// The digits, or `None` for a year beyond four digits.
    fn text(&self) -> Option<Text> {
        let dt = Offset::UTC.to_datetime(self.t);
        let mut out = Text::default();
        if !push_datetime(&mut out, dt, b'T') {
            return None;
        }
        if self.fraction > 0 {
            out.push(b'.');
            let digits = dt.subsec_nanosecond().unsigned_abs() / 10u32.pow(9 - self.fraction);
            push_digits(&mut out, digits, self.fraction);
        }
        out.push(b'Z');
        Some(out)
    }

    fn strftime(&self) -> String {
        let fraction = if self.fraction > 0 {
            format!("%.{}f", self.fraction)
        } else {
            String::new()
        };
        self.t
            .strftime(&format!("%Y-%m-%dT%H:%M:%S{fraction}Z"))
            .to_string()
    }
}

impl std::fmt::Display for Utc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.text() {
            Some(text) => f.write_str(text.as_str()),
            None => f.write_str(&self.strftime()),
        }
    }
}

impl serde::Serialize for Utc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.text() {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => serializer.serialize_str(&self.strftime()),
        }
    }
}

/// `2026-06-17 10:00:00` in `zone`, as `%Y-%m-%d %H:%M:%S` writes it.
pub(crate) fn local(t: Timestamp, zone: &TimeZone) -> String {
    let dt = zone.to_datetime(t);
    let mut out = Text::default();
    if !push_datetime(&mut out, dt, b' ') {
        return t
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string();
    }
    out.as_str().to_owned()
}

/// ASCII text of at most 40 bytes (an instant's), on the stack.
#[derive(Debug, Clone, Copy)]
struct Text {
    bytes: [u8; 40],
    len: usize,
}

impl Default for Text {
    fn default() -> Self {
        Self {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl Text {
    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and separators are pushed.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// Writes `YYYY-MM-DD{sep}HH:MM:SS`; false (nothing written) for a year beyond four digits.
fn push_datetime(out: &mut Text, dt: DateTime, sep: u8) -> bool {
    let Ok(year) = u32::try_from(dt.year()) else {
        return false;
    };
    if year > 9999 {
        return false;
    }
    push_digits(out, year, 4);
    out.push(b'-');
    push_digits(out, dt.month().unsigned_abs().into(), 2);
    out.push(b'-');
    push_digits(out, dt.day().unsigned_abs().into(), 2);
    out.push(sep);
    push_digits(out, dt.hour().unsigned_abs().into(), 2);
    out.push(b':');
    push_digits(out, dt.minute().unsigned_abs().into(), 2);
    out.push(b':');
    push_digits(out, dt.second().unsigned_abs().into(), 2);
    true
}

/// The last `width` (at most 9) decimal digits of `n`, zero-padded.
fn push_digits(out: &mut Text, mut n: u32, width: u32) {
    // From the last digit back: divisions by the constant 10 (a multiplication), where
    // `n / 10^place` divided by a power computed at run time.
    let mut digits = [b'0'; 9];
    let width = (width as usize).min(digits.len());
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &digit in &digits[..width] {
        out.push(digit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Timestamp> {
        let mut state: u64 = 42;
        let mut next = |below: i64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            i64::try_from(state >> 33).unwrap_or(0) % below
        };
        let mut out: Vec<Timestamp> = [0, 1, 999_999_999, 1_000_000, 123_456_789]
            .iter()
            .map(|ns| Timestamp::new(1_718_611_200, *ns).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        for _ in 0..2000 {
            // From 1960 to 2200, any nanosecond.
            let secs = next(7_600_000_000) - 315_000_000;
            let nanos = i32::try_from(next(1_000_000_000)).unwrap_or(0);
            out.push(Timestamp::new(secs, nanos).unwrap_or_else(|e| panic!("{e}")));
        }
        out.push(Timestamp::MIN);
        out.push(Timestamp::MAX);
        out.push(Timestamp::new(-62_135_596_800 - 1, 0).unwrap_or_else(|e| panic!("{e}")));
        out
    }

    #[test]
    fn utc_instants_are_written_as_strftime_writes_them() {
        for t in samples() {
            for fraction in [0, 3, 6] {
                let format = if fraction == 0 {
                    "%Y-%m-%dT%H:%M:%SZ".to_owned()
                } else {
                    format!("%Y-%m-%dT%H:%M:%S%.{fraction}fZ")
                };
                let expected = t.strftime(&format).to_string();
                assert_eq!(Utc::new(t, fraction).to_string(), expected, "{t:?}");
                let json = serde_json::to_string(&Utc::new(t, fraction)).unwrap_or_default();
                assert_eq!(json, format!("\"{expected}\""), "{t:?}");
            }
        }
    }

    #[test]
    fn local_times_are_written_as_strftime_writes_them() {
        for name in ["Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "UTC"] {
            let zone = TimeZone::get(name).unwrap_or_else(|e| panic!("{e}"));
            for t in samples() {
                let expected = t
                    .to_zoned(zone.clone())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string();
                assert_eq!(local(t, &zone), expected, "{t:?} in {name}");
            }
        }
    }
}
