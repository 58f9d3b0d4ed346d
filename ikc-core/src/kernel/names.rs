//! The kernel's unique id and the registry of names it answers to.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Kernels created so far in this process (the last part of the id).
static KERNELS: AtomicU32 = AtomicU32::new(0);

/// A new kernel id in POE's shape, with a per-process counter so kernels on
/// several threads differ: `{host}-{unix time:08x}-{pid:08x}-{n:08x}`.
pub(crate) fn new_kernel_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let n = KERNELS.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    format!(
        "{}-{:08x}-{:08x}-{:08x}",
        sanitize_host(&hostname()),
        secs as u32,
        std::process::id(),
        n
    )
}

/// The host name, from the places Linux and most Unixes keep it, without
/// calling into libc.
fn hostname() -> String {
    let from_file = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Keep `[-.\w]`; every run of other characters becomes one `_`.
pub(crate) fn sanitize_host(host: &str) -> String {
    let mut out = String::with_capacity(host.len());
    let mut in_run = false;
    for c in host.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    if out.is_empty() {
        out.push_str("localhost");
    }
    out
}

/// Every name this kernel answers to: its id first, then the names and
/// aliases added (by the IKC server/client `name` and `aliases`). A
/// specifier whose kernel is one of these is delivered locally.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    names: Vec<String>,
}

impl Names {
    pub(crate) fn new(id: String) -> Self {
        Self { names: vec![id] }
    }

    /// The kernel's unique id.
    pub(crate) fn id(&self) -> &str {
        &self.names[0]
    }

    /// Add a name; `false` if it was already there.
    pub(crate) fn add(&mut self, name: &str) -> bool {
        if self.is_local(name) {
            return false;
        }
        self.names.push(name.to_owned());
        true
    }

    /// Remove a name; `false` if it was not there or is the id (which
    /// cannot be removed).
    pub(crate) fn remove(&mut self, name: &str) -> bool {
        match self.names.iter().skip(1).position(|n| n == name) {
            Some(i) => {
                self.names.remove(i + 1);
                true
            }
            None => false,
        }
    }

    pub(crate) fn all(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn is_local(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{host}-{8 hex}-{8 hex}-{8 hex}`.
    fn has_poe_id_shape(id: &str) -> bool {
        let parts: Vec<&str> = id.rsplitn(4, '-').collect();
        parts.len() == 4
            && !parts[3].is_empty()
            && parts[..3]
                .iter()
                .all(|hex| hex.len() == 8 && hex.bytes().all(|c| c.is_ascii_hexdigit()))
    }

    #[test]
    fn ids_have_poes_shape_and_differ() {
        // What POE 1.370's `$poe_kernel->ID` printed on this machine.
        assert!(has_poe_id_shape("vm-6b01c640-0000727b-00000001"));
        assert!(!has_poe_id_shape("vm-6b01c640-727b-1"));
        let a = new_kernel_id();
        let b = new_kernel_id();
        assert_ne!(a, b);
        assert!(has_poe_id_shape(&a), "{a}");
        let pid = a.rsplit('-').nth(1).unwrap();
        assert_eq!(u32::from_str_radix(pid, 16).unwrap(), std::process::id());
        assert!(ikc_specifier::is_valid_kernel_name(&a), "{a}");
    }

    #[test]
    fn host_names_are_sanitized() {
        assert_eq!(sanitize_host("vm"), "vm");
        assert_eq!(sanitize_host("a.b-c_d"), "a.b-c_d");
        assert_eq!(sanitize_host("bad host!/x"), "bad_host_x");
        assert_eq!(sanitize_host("ü"), "_");
        assert_eq!(sanitize_host(""), "localhost");
    }

    #[test]
    fn the_id_is_always_a_name() {
        let mut n = Names::new("k1".into());
        assert!(n.add("Server"));
        assert!(!n.add("Server"));
        assert!(!n.add("k1"));
        assert!(n.is_local("Server") && n.is_local("k1"));
        assert!(!n.remove("k1"));
        assert!(n.remove("Server"));
        assert!(!n.is_local("Server"));
        assert_eq!(n.all(), ["k1"]);
        assert_eq!(n.id(), "k1");
    }
}
