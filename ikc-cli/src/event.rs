//! One monitor event as `ikc node` and `ikc watch` print it.

use std::fmt;

use ikc_freezer::{Hash, Value};
use serde_json::{Map, Value as Json};

use crate::json::{shortened, to_json};

/// What a monitor saw: the operation, the kernel it is about, whether
/// that is the kernel's real ID (not an alias), and what the operation
/// adds (for `error`, the operation and the message).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorEvent {
    /// `register`, `unregister`, `error`, ...
    pub op: String,
    /// The kernel (real ID or alias), or `*`.
    pub kernel: String,
    /// `kernel` is a real ID.
    pub real: bool,
    /// The operation's extra arguments.
    pub args: Vec<Value>,
}

impl MonitorEvent {
    /// Read the hash `IKC/watch` posts (`{op, kernel, real, args}`).
    pub fn from_report(report: &Value) -> Option<Self> {
        let hash: &Hash = report.as_hash()?;
        let text = |k: &str| hash.get(k).map(Value::to_string).unwrap_or_default();
        Some(Self {
            op: hash.get("op")?.to_string(),
            kernel: text("kernel"),
            real: hash.get("real").is_some_and(Value::as_bool),
            args: match hash.get("args") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            },
        })
    }

    /// The event as one JSON object: `{"event", "kernel", "real", "args"}`.
    pub fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert("event".into(), Json::from(self.op.as_str()));
        map.insert("kernel".into(), Json::from(self.kernel.as_str()));
        map.insert("real".into(), Json::from(self.real));
        map.insert(
            "args".into(),
            Json::Array(self.args.iter().map(to_json).collect()),
        );
        Json::Object(map)
    }
}

/// The human line: `register Server (real)`, `error Server local-check: ...`.
impl fmt::Display for MonitorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.kernel)?;
        if self.real {
            f.write_str(" (real)")?;
        }
        let text = |v: &Value| match v {
            Value::Str(_) | Value::Bytes(_) => v.to_string(),
            other => shortened(other, 200),
        };
        match self.args.as_slice() {
            [] => Ok(()),
            [operation, message] if self.op == "error" => {
                write!(f, " {}: {}", text(operation), text(message))
            }
            args => {
                for arg in args {
                    write!(f, " {}", text(arg))?;
                }
                Ok(())
            }
        }
    }
}
