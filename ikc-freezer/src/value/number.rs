//! Numbers the way Perl reads and prints them.
//!
//! [`parse_number`] reads a string the way Perl numifies a string that
//! `looks_like_number`: optional leading and trailing whitespace, a sign,
//! decimal digits with an optional fraction and exponent, `Inf`/`Infinity`/
//! `NaN` in any case, and the special `"0 but true"`. Integers are read
//! exactly; an integer too large for 64 bits becomes a float, as in Perl,
//! so it is never truncated to a wrong integer.
//!
//! [`write_perl_float`] prints a float as Perl stringifies an NV (`%.15g`,
//! `Inf`, `-Inf`, `NaN`, and `0` for both zeros).

use std::fmt;

/// A number read from a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// Fits `i64`.
    Int(i64),
    /// Above `i64::MAX`, fits `u64`.
    UInt(u64),
    /// Has a fraction or exponent, is infinite or NaN, or is an integer
    /// beyond 64 bits.
    Float(f64),
}

impl Number {
    /// The value as an `i64`, if it is exactly one.
    pub(crate) fn to_i64(self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(i),
            Self::UInt(_) => None,
            Self::Float(f) => float_to_i64(f),
        }
    }

    /// The value as a `u64`, if it is exactly one.
    pub(crate) fn to_u64(self) -> Option<u64> {
        match self {
            Self::Int(i) => u64::try_from(i).ok(),
            Self::UInt(u) => Some(u),
            Self::Float(f) => float_to_u64(f),
        }
    }

    /// The value as an `f64` (rounded, as Perl does, beyond 2^53).
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::UInt(u) => u as f64,
            Self::Float(f) => f,
        }
    }
}

/// `f` as an `i64` if it is integral and in range.
pub(crate) fn float_to_i64(f: f64) -> Option<i64> {
    // -2^63 is exact; 2^63 is the first value out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

/// `f` as a `u64` if it is integral and in range.
pub(crate) fn float_to_u64(f: f64) -> Option<u64> {
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    (f.fract() == 0.0 && (0.0..LIMIT).contains(&f)).then_some(f as u64)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Read `s` as Perl reads a numeric string; `None` if Perl would not call
/// it a number (`looks_like_number` is false).
pub(crate) fn parse_number(s: &[u8]) -> Option<Number> {
    if s == b"0 but true" {
        return Some(Number::Int(0));
    }
    let start = s.iter().position(|&b| !is_space(b))?;
    let end = s.iter().rposition(|&b| !is_space(b))? + 1;
    let body = &s[start..end];
    let (negative, unsigned) = match body.first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    if let Some(special) = parse_special(unsigned) {
        return Some(Number::Float(if negative { -special } else { special }));
    }

    let digits = unsigned.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut pos = digits;
    let mut fraction = 0;
    let mut is_float = false;
    if unsigned.get(pos) == Some(&b'.') {
        is_float = true;
        pos += 1;
        fraction = unsigned[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        pos += fraction;
    }
    if digits + fraction == 0 {
        return None;
    }
    if matches!(unsigned.get(pos), Some(b'e' | b'E')) {
        is_float = true;
        pos += 1;
        if matches!(unsigned.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let exp_digits = unsigned[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits == 0 {
            return None;
        }
        pos += exp_digits;
    }
    if pos != unsigned.len() {
        return None;
    }
    if !is_float {
        if let Some(n) = exact_integer(unsigned, negative) {
            return Some(n);
        }
    }
    // Only ASCII digits, '.', 'e', signs remain: valid UTF-8.
    let text = std::str::from_utf8(body).ok()?;
    let text = text.strip_prefix('+').unwrap_or(text);
    text.parse::<f64>().ok().map(Number::Float)
}

fn parse_special(s: &[u8]) -> Option<f64> {
    if s.eq_ignore_ascii_case(b"inf") || s.eq_ignore_ascii_case(b"infinity") {
        Some(f64::INFINITY)
    } else if s.eq_ignore_ascii_case(b"nan") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// Decimal digits as an exact integer, or `None` beyond 64 bits.
fn exact_integer(digits: &[u8], negative: bool) -> Option<Number> {
    let mut magnitude: u64 = 0;
    for &d in digits {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if magnitude <= 1 << 63 {
            // Wrapping handles -2^63, whose magnitude is not an i64.
            Some(Number::Int(0i64.wrapping_sub_unsigned(magnitude)))
        } else {
            None
        }
    } else if let Ok(i) = i64::try_from(magnitude) {
        Some(Number::Int(i))
    } else {
        Some(Number::UInt(magnitude))
    }
}

/// Write `f` as Perl stringifies a floating-point number (`%.15g`).
pub(crate) fn write_perl_float<W: fmt::Write>(out: &mut W, f: f64) -> fmt::Result {
    if f.is_nan() {
        return out.write_str("NaN");
    }
    if f.is_infinite() {
        return out.write_str(if f > 0.0 { "Inf" } else { "-Inf" });
    }
    if f == 0.0 {
        return out.write_str("0");
    }
    // 15 significant digits, correctly rounded (ties to even, as glibc).
    let mut buf = StackBuf::default();
    fmt::write(&mut buf, format_args!("{f:.14e}"))?;
    let text = buf.as_str();
    let (mantissa, exp) = text.split_once('e').ok_or(fmt::Error)?;
    let exp: i32 = exp.parse().map_err(|_| fmt::Error)?;
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let mut digits = [0u8; 15];
    let mut n = 0;
    for b in mantissa.bytes().filter(u8::is_ascii_digit) {
        if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    // Drop trailing zeros (%g does).
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = std::str::from_utf8(&digits[..n]).map_err(|_| fmt::Error)?;
    out.write_str(sign)?;
    if !(-4..15).contains(&exp) {
        out.write_str(&digits[..1])?;
        if n > 1 {
            out.write_char('.')?;
            out.write_str(&digits[1..])?;
        }
        let exp_sign = if exp < 0 { '-' } else { '+' };
        write!(out, "e{exp_sign}{:02}", exp.unsigned_abs())
    } else if exp < 0 {
        out.write_str("0.")?;
        for _ in 0..(-exp - 1) {
            out.write_char('0')?;
        }
        out.write_str(digits)
    } else {
        let int_len = exp as usize + 1;
        if n <= int_len {
            out.write_str(digits)?;
            for _ in n..int_len {
                out.write_char('0')?;
            }
            Ok(())
        } else {
            out.write_str(&digits[..int_len])?;
            out.write_char('.')?;
            out.write_str(&digits[int_len..])
        }
    }
}

/// A fixed buffer big enough for `{:.14e}` of any f64.
#[derive(Default)]
struct StackBuf {
    buf: [u8; 32],
    len: usize,
}

impl StackBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(f: f64) -> String {
        let mut s = String::new();
        write_perl_float(&mut s, f).unwrap();
        s
    }

    #[test]
    fn prints_like_perl() {
        // Each right-hand side is what perl 5.36 printed for the left.
        let cases: &[(f64, &str)] = &[
            (2f64.powi(-22), "2.38418579101562e-07"),
            (0.1 + 0.2, "0.3"),
            (1e21, "1e+21"),
            (1.0 / 3.0, "0.333333333333333"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (3.0, "3"),
            (2f64.powi(53), "9.00719925474099e+15"),
            (2f64.powi(63), "9.22337203685478e+18"),
            (-(2f64.powi(63)), "-9.22337203685478e+18"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (2.5, "2.5"),
            (-0.125, "-0.125"),
            (1e300, "1e+300"),
            (std::f64::consts::PI, "3.14159265358979"),
            (-0.0, "0"),
            (f64::INFINITY, "Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (1e100, "1e+100"),
        ];
        for &(f, want) in cases {
            assert_eq!(g(f), want, "{f:e}");
        }
    }

    #[test]
    fn reads_like_perl() {
        use Number::*;
        let cases: &[(&str, Option<Number>)] = &[
            ("42", Some(Int(42))),
            ("  -7 ", Some(Int(-7))),
            ("+5", Some(Int(5))),
            ("\t\n12\n", Some(Int(12))),
            ("0 but true", Some(Int(0))),
            ("2.5", Some(Float(2.5))),
            (".5", Some(Float(0.5))),
            ("5.", Some(Float(5.0))),
            ("1e3", Some(Float(1000.0))),
            ("-1.5E-2", Some(Float(-0.015))),
            ("9223372036854775807", Some(Int(i64::MAX))),
            ("-9223372036854775808", Some(Int(i64::MIN))),
            ("9223372036854775808", Some(UInt(1 << 63))),
            ("18446744073709551615", Some(UInt(u64::MAX))),
            ("18446744073709551616", Some(Float(18446744073709551616.0))),
            ("-9223372036854775809", Some(Float(-9223372036854775809.0))),
            ("inf", Some(Float(f64::INFINITY))),
            ("-Infinity", Some(Float(f64::NEG_INFINITY))),
            ("", None),
            ("   ", None),
            ("abc", None),
            ("12abc", None),
            ("1e", None),
            ("0x10", None),
            (".", None),
            ("-", None),
            ("1 2", None),
            (" 0 but true", None),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_number(s.as_bytes()), want, "{s:?}");
        }
        assert!(matches!(parse_number(b"NaN"), Some(Float(f)) if f.is_nan()));
    }

    #[test]
    fn huge_integers_are_not_truncated() {
        let n = parse_number(b"36893488147419103232").unwrap();
        assert_eq!(n.to_i64(), None);
        assert_eq!(n.to_u64(), None);
        assert_eq!(n.to_f64(), 36893488147419103232.0);
        assert_eq!(parse_number(b"2.0").unwrap().to_i64(), Some(2));
        assert_eq!(parse_number(b"2.5").unwrap().to_i64(), None);
        assert_eq!(parse_number(b"-1").unwrap().to_u64(), None);
    }
}
