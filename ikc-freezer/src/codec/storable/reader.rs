//! Reading a network-order Storable image.
//!
//! The reader never recurses: it keeps its own stack of the arrays, hashes
//! and references it is inside, so input nested 100,000 deep is refused by
//! [`Limits::max_depth`] rather than by a stack overflow, however small the
//! thread's stack.
//!
//! Storable numbers every scalar, array, hash and reference it stores (its
//! "tags", in depth-first order) so that a later `SX_OBJECT` can point back
//! to one. Rather than keep a copy of every value in case it is pointed to,
//! the reader remembers where each tag's bytes start and, on a
//! back-reference, reads those bytes again ("replays" them) without
//! numbering anything. Every value a replay produces counts against
//! [`Limits::max_elements`], which bounds the "billion laughs" image whose
//! back-references double at every level.

use std::cell::Cell;

use crate::codec::{give_back, with_kept_stack};
use crate::error::ThawError;
use crate::limits::{Budget, Limits};
use crate::value::{Hash, Value};

use super::op;

mod decoder;
mod parts;

pub use self::decoder::{StorableDecoder, StorableKept, StorableMark};

/// Room reserved up front for an array or hash: a declared length is only
/// a claim, so larger ones grow as their elements actually arrive.
const MAX_PREALLOCATE: usize = 1024;

/// A finished object: the body a reference can point to, possibly blessed.
struct Node {
    body: Body,
    class: Option<String>,
}

enum Body {
    /// A scalar (which may itself hold a reference).
    Scalar(Value),
    Array(Vec<Value>),
    Hash(Hash),
}

impl Node {
    /// The value of a reference to this node.
    fn into_reference(self) -> Value {
        let reference = match self.body {
            Body::Scalar(v) => Value::Ref(Box::new(v)),
            Body::Array(a) => Value::Array(a),
            Body::Hash(h) => Value::Hash(h),
        };
        match self.class {
            Some(class) => Value::blessed(class, reference),
            None => reference,
        }
    }
}

thread_local! {
    /// The stack [`Reader::run`] reuses.
    static STACK: Cell<Vec<Frame>> = const { Cell::new(Vec::new()) };
    /// The table of tags a [`Reader`] reuses (given back when it is
    /// dropped).
    static TAGS: Cell<Vec<Tag>> = const { Cell::new(Vec::new()) };
}

/// The most tags a reader's table keeps for the next image.
const KEPT_TAGS: usize = 4096;

/// Something the reader is inside of.
enum Frame {
    /// An array waiting for `left` more elements.
    Array {
        tag: Option<usize>,
        class: Option<String>,
        items: Vec<Value>,
        left: usize,
    },
    /// A hash waiting for `left` more entries (each a value, then its key).
    Hash {
        tag: Option<usize>,
        class: Option<String>,
        hash: Hash,
        left: usize,
        flagged: bool,
    },
    /// A reference waiting for its target.
    Ref {
        tag: Option<usize>,
        class: Option<String>,
    },
    /// A back-reference being replayed: where to carry on afterwards.
    Replay { resume: usize },
}

/// Where a tag's bytes start, and whether it has been read completely.
#[derive(Clone, Copy)]
struct Tag {
    start: usize,
    done: bool,
}

pub(super) fn thaw(input: &[u8], limits: Limits) -> Result<Value, ThawError> {
    let mut reader = Reader::new(input, limits)?;
    let root = reader.run()?;
    if reader.pos != input.len() {
        return Err(reader.trailing());
    }
    Ok(root.into_reference())
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    budget: Budget,
    tags: Vec<Tag>,
    classes: Vec<String>,
    /// Above zero while re-reading a back-reference's bytes.
    replaying: u32,
    /// Is the value [`run`](Self::run) reads a hash value (see
    /// [`slot_value`](Self::slot_value)) rather than the image's root?
    root_in_slot: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `input` after its header.
    fn new(input: &'a [u8], limits: Limits) -> Result<Self, ThawError> {
        let mut reader = Reader {
            input,
            pos: 0,
            budget: Budget::new(limits, input.len())?,
            tags: TAGS.take(),
            classes: Vec::new(),
            replaying: 0,
            root_in_slot: false,
        };
        reader.header()?;
        Ok(reader)
    }
}

impl Drop for Reader<'_> {
    /// Give the table of tags back for the next image on this thread.
    fn drop(&mut self) {
        give_back(&TAGS, std::mem::take(&mut self.tags), KEPT_TAGS);
    }
}

impl Reader<'_> {
    #[cold]
    fn trailing(&self) -> ThawError {
        ThawError::TrailingData {
            offset: self.pos,
            count: self.input.len() - self.pos,
        }
    }

    /// Read the root object. The stack of open aggregates is kept per
    /// thread between values.
    fn run(&mut self) -> Result<Node, ThawError> {
        with_kept_stack(&STACK, |stack| self.run_with(stack))
    }

    fn run_with(&mut self, stack: &mut Vec<Frame>) -> Result<Node, ThawError> {
        // References on the stack: the nesting depth.
        let mut refs = 0;
        loop {
            let Some(mut node) = self.begin(stack, &mut refs)? else {
                continue;
            };
            // Hand the finished node to what it belongs to, finishing that
            // in turn if it is now complete.
            loop {
                let child = match stack.last_mut() {
                    None => return Ok(node),
                    Some(Frame::Array { items, left, .. }) => {
                        items.push(self.slot(node)?);
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        None
                    }
                    Some(Frame::Hash {
                        hash,
                        left,
                        flagged,
                        ..
                    }) => {
                        let value = self.slot(node)?;
                        if let Some(key) = self.key(*flagged)? {
                            hash.insert(key, value);
                        }
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        None
                    }
                    Some(Frame::Ref { .. } | Frame::Replay { .. }) => Some(node),
                };
                let Some(frame) = stack.pop() else {
                    return Err(self.malformed(self.pos, "reader stack underflow"));
                };
                node = self.close(frame, child, &mut refs);
            }
        }
    }

    /// Finish the frame `frame`; `child` is the node a reference or replay
    /// was waiting for.
    fn close(&mut self, frame: Frame, child: Option<Node>, refs: &mut usize) -> Node {
        match frame {
            Frame::Array {
                tag, class, items, ..
            } => {
                self.complete(tag);
                Node {
                    body: Body::Array(items),
                    class,
                }
            }
            Frame::Hash {
                tag, class, hash, ..
            } => {
                self.complete(tag);
                Node {
                    body: Body::Hash(hash),
                    class,
                }
            }
            Frame::Ref { tag, class } => {
                *refs -= 1;
                self.complete(tag);
                Node {
                    body: Body::Scalar(child.map_or(Value::Undef, Node::into_reference)),
                    class,
                }
            }
            Frame::Replay { resume } => {
                self.pos = resume;
                self.replaying -= 1;
                child.unwrap_or(Node {
                    body: Body::Scalar(Value::Undef),
                    class: None,
                })
            }
        }
    }

    /// Read the start of the next object. A scalar or an empty array or
    /// hash comes back finished; anything else pushes a frame.
    fn begin(
        &mut self,
        stack: &mut Vec<Frame>,
        refs: &mut usize,
    ) -> Result<Option<Node>, ThawError> {
        let start = self.pos;
        let mut opcode = self.byte()?;
        if opcode == op::OBJECT {
            let tag_start = self.tag_start(start)?;
            stack.push(Frame::Replay { resume: self.pos });
            self.replaying += 1;
            self.pos = tag_start;
            return Ok(None);
        }
        // Array elements and hash values are scalars: an array or hash
        // there is malformed, and refused before anything is allocated.
        let in_slot = match stack
            .iter()
            .rev()
            .find(|f| !matches!(f, Frame::Replay { .. }))
        {
            Some(frame) => matches!(frame, Frame::Array { .. } | Frame::Hash { .. }),
            None => self.root_in_slot,
        };
        let mut class = None;
        if matches!(opcode, op::BLESS | op::IX_BLESS) {
            class = Some(self.class(opcode, start)?);
            opcode = self.blessed_opcode()?;
        }
        if matches!(opcode, op::VSTRING | op::LVSTRING) {
            // The v-string magic is dropped; the scalar after it stays.
            opcode = self.skip_vstring(opcode)?;
        }
        self.budget.take_elements(1)?;
        match opcode {
            op::REF | op::OVERLOAD | op::WEAKREF | op::WEAKOVERLOAD => {
                *refs += 1;
                self.budget.check_depth(*refs)?;
                let tag = self.register(start);
                stack.push(Frame::Ref { tag, class });
                Ok(None)
            }
            op::ARRAY => {
                if in_slot {
                    return Err(self.not_a_scalar(start));
                }
                let tag = self.register(start);
                let left = self.array_len()?;
                if left == 0 {
                    self.complete(tag);
                    return Ok(Some(Node {
                        body: Body::Array(Vec::new()),
                        class,
                    }));
                }
                let items = Vec::with_capacity(left.min(MAX_PREALLOCATE));
                stack.push(Frame::Array {
                    tag,
                    class,
                    items,
                    left,
                });
                Ok(None)
            }
            op::HASH | op::FLAG_HASH => {
                if in_slot {
                    return Err(self.not_a_scalar(start));
                }
                let tag = self.register(start);
                let flagged = opcode == op::FLAG_HASH;
                let left = self.hash_len(flagged)?;
                if left == 0 {
                    self.complete(tag);
                    return Ok(Some(Node {
                        body: Body::Hash(Hash::new()),
                        class,
                    }));
                }
                stack.push(Frame::Hash {
                    tag,
                    class,
                    hash: Hash::with_capacity(left.min(MAX_PREALLOCATE)),
                    left,
                    flagged,
                });
                Ok(None)
            }
            _ => {
                let tag = self.register(start);
                let value = self.scalar(opcode, start)?;
                self.complete(tag);
                Ok(Some(Node {
                    body: Body::Scalar(value),
                    class,
                }))
            }
        }
    }

    /// A finished node that must be a plain scalar (array element, hash value).
    fn slot(&self, node: Node) -> Result<Value, ThawError> {
        match node {
            Node {
                body: Body::Scalar(v),
                class: None,
            } => Ok(v),
            _ => Err(self.not_a_scalar(self.pos)),
        }
    }

    #[cold]
    fn not_a_scalar(&self, at: usize) -> ThawError {
        self.malformed(at, "an array, hash or object where a scalar belongs")
    }
}
