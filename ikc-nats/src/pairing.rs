//! One lifecycle per pair of kernels: which of the two pipes of a pair
//! belong together.
//!
//! Each kernel holds its own pipe for every other kernel on the bus, and
//! the two pipes of a pair live apart: a kernel that lost its server (or
//! took a peer for gone when a few heartbeats were late) drops its pipes
//! and opens new ones, while the far kernel still holds the old one. The
//! mesh routes over these pipes, so the two ends must agree which link a
//! message belongs to: a routing record sent on the far kernel's old link
//! must never arrive on the near kernel's new one, where no hello has come
//! yet.
//!
//! So the pipes of a pair carry a **generation**, and every message
//! between kernels carries a [`LinkTag`] (the `IKC-Link` header): the
//! sender's attachment (its presence incarnation), the receiver's
//! attachment as the sender knows it, and the generation of the pipe it
//! left. A kernel that opens a pipe on its own (the peer arrived, came
//! back, or we reconnected) takes the next generation; the far kernel,
//! seeing a generation newer than its own pipe's, drops its pipe and opens
//! one of that generation (its kernel sees the peer unregister and register
//! again, as after a reconnect). The mesh's own messages (routing records,
//! goodbyes) of an older generation or of an earlier attachment are
//! dropped: the link they were about is closed. A request or post sent on
//! the old link stands on its own and is delivered on the new one (its
//! sender's kernel sent it before it knew). Both ends
//! move to the highest generation either of them took, so they agree
//! without a handshake of their own, even when both reset at once.
//!
//! [`Generations`] decides without I/O; the bridge carries it out.

use std::collections::HashMap;

use crate::presence::Presence;

/// The header naming the link of a message between kernels:
/// `<sender's incarnation>/<receiver's incarnation>/<pair generation>`
/// (see the crate docs, "Kernels on NATS in a mesh").
pub const LINK_HEADER: &str = "IKC-Link";

/// Which link of which pair a message between kernels belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkTag {
    /// The sending kernel's presence incarnation.
    pub(crate) sender: String,
    /// The receiving kernel's incarnation, as the sender knows it.
    pub(crate) receiver: String,
    /// The generation of the sender's pipe.
    pub(crate) generation: u64,
}

impl LinkTag {
    /// The header value: `<sender>/<receiver>/<generation>`.
    pub(crate) fn header(&self) -> String {
        format!("{}/{}/{}", self.sender, self.receiver, self.generation)
    }

    /// Read a header value; `None` if it is not one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let sender = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let receiver = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let generation = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            sender,
            receiver,
            generation,
        })
    }
}

/// What to do with a message from another kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Into the current pipe.
    Deliver,
    /// The sender started a new generation: drop the current pipe, open
    /// one of this generation, and deliver into it.
    Reset(u64),
    /// Sent on a link closed since (an older generation, or to an earlier
    /// attachment of this kernel): a routing message is dropped, a request
    /// goes into the current pipe.
    Stale,
    /// From a kernel (or an attachment of it) not heard on the bus yet:
    /// keep it until it is.
    Hold,
}

/// The generation of each pair this kernel is part of.
#[derive(Debug)]
pub(crate) struct Generations {
    me: String,
    current: HashMap<String, u64>,
}

impl Generations {
    /// For the kernel attached with incarnation `me`.
    pub(crate) fn new(me: impl Into<String>) -> Self {
        Self {
            me: me.into(),
            current: HashMap::new(),
        }
    }

    /// The generation of the pipe for `kernel` (0: none opened yet).
    pub(crate) fn current(&self, kernel: &str) -> u64 {
        self.current.get(kernel).copied().unwrap_or(0)
    }

    /// A message tagged `tag` from `peer` (as the bus knows it, if it
    /// does); `has_pipe`: a pipe of the current generation is open.
    pub(crate) fn judge(
        &self,
        kernel: &str,
        peer: Option<&Presence>,
        has_pipe: bool,
        tag: &LinkTag,
    ) -> Verdict {
        if tag.receiver != self.me {
            return Verdict::Stale;
        }
        match peer {
            Some(p) if p.incarnation == tag.sender => {}
            _ => return Verdict::Hold,
        }
        let current = self.current(kernel);
        if tag.generation > current {
            Verdict::Reset(tag.generation)
        } else if tag.generation == current && has_pipe {
            Verdict::Deliver
        } else {
            Verdict::Stale
        }
    }

    /// This kernel opens a pipe for `kernel` on its own: the next
    /// generation, or `at_least` if the peer is already there.
    pub(crate) fn open(&mut self, kernel: &str, at_least: u64) -> u64 {
        let next = (self.current(kernel) + 1).max(at_least);
        self.current.insert(kernel.to_owned(), next);
        next
    }

    /// The peer opened generation `generation` (newer than ours).
    pub(crate) fn adopt(&mut self, kernel: &str, generation: u64) {
        self.current.insert(kernel.to_owned(), generation);
    }

    /// `kernel` left the bus, or restarted: its pairs start again.
    pub(crate) fn forget(&mut self, kernel: &str) {
        self.current.remove(kernel);
    }

    /// Is a held message of `tag` still good for a pipe of `generation`
    /// to `peer`?
    pub(crate) fn fits(&self, peer: &Presence, generation: u64, tag: &LinkTag) -> bool {
        tag.receiver == self.me && tag.sender == peer.incarnation && tag.generation == generation
    }

    /// The tag of messages this kernel sends on its pipe of `generation`
    /// to `peer`.
    pub(crate) fn tag(&self, peer: &Presence, generation: u64) -> LinkTag {
        LinkTag {
            sender: self.me.clone(),
            receiver: peer.incarnation.clone(),
            generation,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn peer(kernel: &str, incarnation: &str) -> Presence {
        Presence {
            kernel: kernel.into(),
            name: kernel.into(),
            aliases: Vec::new(),
            incarnation: incarnation.into(),
            up: true,
            heartbeat: Duration::from_secs(1),
            pid: 1,
        }
    }

    #[test]
    fn tags_round_trip_and_bad_ones_are_refused() {
        let tag = LinkTag {
            sender: "a1".into(),
            receiver: "b1".into(),
            generation: 7,
        };
        assert_eq!(tag.header(), "a1/b1/7");
        assert_eq!(LinkTag::parse(&tag.header()), Some(tag));
        for bad in ["", "a/b", "a/b/x", "a/b/1/2", "/b/1", "a//1", "a/b/-1"] {
            assert_eq!(LinkTag::parse(bad), None, "{bad}");
        }
    }

    /// Two kernels, each with its own table: what each does with what the
    /// other sends.
    struct Pair {
        a: Generations,
        b: Generations,
        a_pipe: Option<u64>,
        b_pipe: Option<u64>,
    }

    impl Pair {
        fn new() -> Self {
            Self {
                a: Generations::new("ia"),
                b: Generations::new("ib"),
                a_pipe: None,
                b_pipe: None,
            }
        }

        /// `b` receives what `a` sends on its pipe; `b` acts on the verdict.
        fn a_to_b(&mut self) -> Verdict {
            let g = self.a_pipe.expect("a has a pipe");
            let tag = self.a.tag(&peer("B", "ib"), g);
            let v = self
                .b
                .judge("A", Some(&peer("A", "ia")), self.b_pipe.is_some(), &tag);
            if let Verdict::Reset(g) = v {
                self.b.adopt("A", g);
                self.b_pipe = Some(g);
            }
            v
        }

        fn b_to_a(&mut self) -> Verdict {
            let g = self.b_pipe.expect("b has a pipe");
            let tag = self.b.tag(&peer("A", "ia"), g);
            let v = self
                .a
                .judge("B", Some(&peer("B", "ib")), self.a_pipe.is_some(), &tag);
            if let Verdict::Reset(g) = v {
                self.a.adopt("B", g);
                self.a_pipe = Some(g);
            }
            v
        }
    }

    #[test]
    fn both_ends_open_at_once_and_agree() {
        let mut p = Pair::new();
        p.a_pipe = Some(p.a.open("B", 0));
        p.b_pipe = Some(p.b.open("A", 0));
        assert_eq!(p.a_to_b(), Verdict::Deliver);
        assert_eq!(p.b_to_a(), Verdict::Deliver);
    }

    #[test]
    fn a_reconnect_resets_the_far_end_and_old_messages_are_dropped() {
        let mut p = Pair::new();
        p.a_pipe = Some(p.a.open("B", 0));
        p.b_pipe = Some(p.b.open("A", 0));
        // b sent on its pipe before a lost its server.
        let old_from_b = p.b.tag(&peer("A", "ia"), p.b_pipe.unwrap());
        // a lost its server: its pipes are gone; back, it opens anew.
        p.a_pipe = None;
        p.a_pipe = Some(p.a.open("B", 0));
        // b's old message reaches a's new pipe: dropped, no hello came yet.
        assert_eq!(
            p.a.judge("B", Some(&peer("B", "ib")), true, &old_from_b),
            Verdict::Stale
        );
        // a's hello makes b reset, once.
        assert_eq!(p.a_to_b(), Verdict::Reset(2));
        assert_eq!(p.a_to_b(), Verdict::Deliver);
        assert_eq!(p.b_to_a(), Verdict::Deliver);
    }

    #[test]
    fn both_reset_to_different_generations_and_meet_at_the_highest() {
        let mut p = Pair::new();
        p.a_pipe = Some(p.a.open("B", 0));
        p.b_pipe = Some(p.b.open("A", 0));
        p.b_pipe = Some(p.b.open("A", 0)); // 2
        p.a_pipe = Some(p.a.open("B", 0)); // 2
        p.a_pipe = Some(p.a.open("B", 0)); // 3
        assert_eq!(p.b_to_a(), Verdict::Stale);
        assert_eq!(p.a_to_b(), Verdict::Reset(3));
        assert_eq!(p.b_to_a(), Verdict::Deliver);
        assert_eq!(p.a_to_b(), Verdict::Deliver);
    }

    #[test]
    fn other_attachments_and_unknown_kernels() {
        let mut g = Generations::new("ib");
        g.open("A", 0);
        let a = peer("A", "ia");
        let to_old_me = LinkTag {
            sender: "ia".into(),
            receiver: "ib-before".into(),
            generation: 1,
        };
        assert_eq!(g.judge("A", Some(&a), true, &to_old_me), Verdict::Stale);
        let from_new_a = LinkTag {
            sender: "ia2".into(),
            receiver: "ib".into(),
            generation: 1,
        };
        assert_eq!(g.judge("A", Some(&a), true, &from_new_a), Verdict::Hold);
        assert_eq!(g.judge("A", None, false, &from_new_a), Verdict::Hold);
        // The pipe of the current generation was closed by the kernel.
        let current = LinkTag {
            sender: "ia".into(),
            receiver: "ib".into(),
            generation: 1,
        };
        assert_eq!(g.judge("A", Some(&a), false, &current), Verdict::Stale);
        // Held messages fit only the pipe they were sent for.
        let held = LinkTag {
            sender: "ia".into(),
            receiver: "ib".into(),
            generation: 3,
        };
        assert!(g.fits(&a, 3, &held) && !g.fits(&a, 2, &held));
        assert_eq!(g.open("A", 3), 3);
        g.forget("A");
        assert_eq!(g.current("A"), 0);
    }
}
