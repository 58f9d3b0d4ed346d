//! One monitor event as `ikc node` and `ikc watch` print it.

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

    /// The message a message event (`leaving`, `arriving`, `routed`,
    /// `dropped`) is about: the hash IKC's message monitors pass.
    fn message(&self) -> Option<&Hash> {
        match (self.op.as_str(), self.args.as_slice()) {
            ("leaving" | "arriving" | "routed" | "dropped", [Value::Hash(h)]) => Some(h),
            _ => None,
        }
    }

    /// The event as one JSON object: `{"event", "kernel", "real", "args"}`;
    /// for a message, `{"event", "kernel", "from", "to", "state", "size",
    /// "args", "reason"}`, with `args` as JSON, or as a string of its JSON
    /// cut at `max_len` characters when longer.
    pub fn to_json(&self, max_len: usize) -> Json {
        let mut map = Map::new();
        map.insert("event".into(), Json::from(self.op.as_str()));
        map.insert("kernel".into(), Json::from(self.kernel.as_str()));
        map.insert("real".into(), Json::from(self.real));
        if let Some(msg) = self.message() {
            for key in ["from", "to", "state", "size", "reason"] {
                if let Some(v) = msg.get(key) {
                    map.insert(key.into(), to_json(v));
                }
            }
            let args = msg.get("args").cloned().unwrap_or_default();
            let text = shortened(&args, max_len);
            let json = to_json(&args);
            let args = if json.to_string().chars().count() <= max_len {
                json
            } else {
                Json::String(text)
            };
            map.insert("args".into(), args);
        } else {
            map.insert(
                "args".into(),
                Json::Array(self.args.iter().map(to_json).collect()),
            );
        }
        Json::Object(map)
    }

    /// The human line: `register Server (real) 1234`, `error Server
    /// local-check: ...`, `leaving B poe://A/x -> poe://B/test/echo (42
    /// bytes) [1,2]`, arguments cut at `max_len` characters.
    pub fn line(&self, max_len: usize) -> String {
        let text = |v: &Value| match v {
            Value::Str(_) | Value::Bytes(_) => v.to_string(),
            other => shortened(other, max_len),
        };
        let mut line = format!("{} {}", self.op, self.kernel);
        if self.real {
            line.push_str(" (real)");
        }
        if let Some(msg) = self.message() {
            let part = |k: &str| msg.get(k).filter(|v| !v.is_undef()).map(Value::to_string);
            line.push_str(&format!(
                " {} -> {}",
                part("from").unwrap_or_else(|| "?".into()),
                part("to").unwrap_or_default()
            ));
            if let Some(size) = part("size") {
                line.push_str(&format!(" ({size} bytes)"));
            }
            if let Some(reason) = part("reason") {
                line.push_str(&format!(" dropped: {reason}"));
            }
            let args = msg.get("args").cloned().unwrap_or_default();
            line.push(' ');
            line.push_str(&shortened(&args, max_len));
            return line;
        }
        match self.args.as_slice() {
            [operation, message] if self.op == "error" => {
                line.push_str(&format!(" {}: {}", text(operation), text(message)));
            }
            args => {
                for arg in args {
                    line.push(' ');
                    line.push_str(&text(arg));
                }
            }
        }
        line
    }
}
