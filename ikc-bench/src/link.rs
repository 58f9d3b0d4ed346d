//! How a client kernel of a scenario reaches the server kernel.

/// How a client kernel reaches the benchmark server.
#[derive(Debug, Clone)]
pub(crate) enum Link {
    /// A direct IKC connection to the server's TCP port.
    Direct(u16),
    /// Through a NATS bus (the server kernel is attached to it too).
    Nats(String),
    /// A direct IKC connection to the first of a chain of relay kernels,
    /// the server reached through the mesh.
    Relayed(u16),
}

impl Link {
    /// The name printed in the result lines.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Direct(_) => "direct",
            Self::Nats(_) => "nats",
            Self::Relayed(_) => "relay",
        }
    }
}
