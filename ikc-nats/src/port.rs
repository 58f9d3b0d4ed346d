//! What the NATS thread and the kernel say to each other.
//!
//! The NATS thread queues [`ToKernel`] items on a channel and wakes the
//! kernel's NATS session with one post through the kernel's cross-thread
//! handle (not one post per item: a wake is posted only when none is
//! pending). The kernel answers with [`ToNats`] on a tokio channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};
use ikc_core::{KernelHandle, SessionId};
use ikc_freezer::Value;

/// The state the kernel's NATS session drains its queue in.
pub(crate) const WAKE_STATE: &str = "IKC:nats wake";
/// How many items may wait for the kernel: past this, requests of NATS
/// clients are refused as busy instead of piling up.
const QUEUE: usize = 64 * 1024;

/// From the NATS thread to the kernel.
#[derive(Debug)]
pub(crate) enum ToKernel {
    /// A kernel arrived on the bus: here is the kernel end of its pipe.
    PeerUp {
        kernel: String,
        stream: std::os::unix::net::UnixStream,
    },
    /// A plain NATS client asks for a state (a request, with `reply`) or
    /// posts to it (a publish).
    Request {
        kernel: String,
        session: String,
        state: String,
        arg: Value,
        reply: Option<String>,
    },
    /// A message the kernel sent could not be delivered.
    Undeliverable { kernel: String, what: String },
    /// The NATS thread has finished.
    Detached,
}

/// From the kernel to the NATS thread.
#[derive(Debug)]
pub(crate) enum ToNats {
    /// Answer a plain request: a JSON body, or an error code and message.
    Reply {
        subject: String,
        body: Vec<u8>,
        error: Option<(u16, String)>,
    },
    /// Leave the bus.
    Detach,
}

/// The NATS thread's way into the kernel.
#[derive(Debug, Clone)]
pub(crate) struct KernelPort {
    tx: Sender<ToKernel>,
    wake_pending: Arc<AtomicBool>,
    handle: KernelHandle,
    session: SessionId,
}

/// The kernel's end of the port.
#[derive(Debug)]
pub(crate) struct KernelInbox {
    rx: Receiver<ToKernel>,
    wake_pending: Arc<AtomicBool>,
}

/// A port to `session` of the kernel behind `handle`, and its inbox.
pub(crate) fn port(handle: KernelHandle, session: SessionId) -> (KernelPort, KernelInbox) {
    let (tx, rx) = crossbeam_channel::bounded(QUEUE);
    let wake_pending = Arc::new(AtomicBool::new(false));
    (
        KernelPort {
            tx,
            wake_pending: Arc::clone(&wake_pending),
            handle,
            session,
        },
        KernelInbox { rx, wake_pending },
    )
}

impl KernelPort {
    /// Queue `item` for the kernel and wake it; the item comes back if
    /// the queue is full (or the kernel is gone).
    pub(crate) fn try_send(&self, item: ToKernel) -> Result<(), Box<ToKernel>> {
        self.tx
            .try_send(item)
            .map_err(|e| Box::new(e.into_inner()))?;
        self.wake();
        Ok(())
    }

    /// [`try_send`](Self::try_send), logging an item that could not be queued.
    pub(crate) fn send(&self, item: ToKernel) {
        if let Err(item) = self.try_send(item) {
            if self.is_open() {
                log::error!("the kernel's NATS queue is full: {item:?} dropped");
            } else {
                log::debug!("the kernel has stopped: {item:?} dropped");
            }
        }
    }

    fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            if let Err(e) = self.handle.post(self.session, WAKE_STATE, Vec::new()) {
                log::debug!("the kernel takes no more NATS traffic: {e}");
            }
        }
    }

    /// Does the kernel still take posts?
    pub(crate) fn is_open(&self) -> bool {
        self.handle.is_open()
    }
}

impl KernelInbox {
    /// Everything queued (the wake is cleared first, so an item queued
    /// while draining posts a new wake).
    pub(crate) fn drain(&self) -> impl Iterator<Item = ToKernel> + '_ {
        self.wake_pending.store(false, Ordering::SeqCst);
        self.rx.try_iter()
    }
}
