//! `From` conversions into [`Value`].

use crate::value::{Hash, Value};

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Self::Int(i64::from(n))
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        match i64::try_from(n) {
            Ok(i) => Self::Int(i),
            Err(_) => Self::UInt(n),
        }
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Self {
        Self::from(n as u64)
    }
}

impl From<isize> for Value {
    fn from(n: isize) -> Self {
        Self::Int(n as i64)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Self::Float(n)
    }
}

impl From<f32> for Value {
    fn from(n: f32) -> Self {
        Self::Float(f64::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Self::Str(s.clone())
    }
}

impl From<Hash> for Value {
    fn from(h: Hash) -> Self {
        Self::Hash(h)
    }
}

impl<T: Into<Self>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Self::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Self>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Undef, Into::into)
    }
}

impl From<()> for Value {
    fn from((): ()) -> Self {
        Self::Undef
    }
}
