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

use crate::error::ThawError;
use crate::limits::{Budget, Limits};
use crate::value::{Hash, Key, Value};

use super::{MAJOR, READ_MINOR, key_flag, op};

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
    let mut reader = Reader {
        input,
        pos: 0,
        budget: Budget::new(limits, input.len())?,
        // Every tag takes at least one byte of input.
        tags: Vec::with_capacity((input.len() / 2).min(MAX_PREALLOCATE)),
        classes: Vec::new(),
        replaying: 0,
    };
    reader.header()?;
    let root = reader.run()?;
    if reader.pos != input.len() {
        return Err(ThawError::TrailingData {
            offset: reader.pos,
            count: input.len() - reader.pos,
        });
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
}

impl Reader<'_> {
    /// Read the root object.
    fn run(&mut self) -> Result<Node, ThawError> {
        let mut stack: Vec<Frame> = Vec::with_capacity(8);
        // References on the stack: the nesting depth.
        let mut refs = 0;
        loop {
            let Some(mut node) = self.begin(&mut stack, &mut refs)? else {
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
        let in_slot = matches!(
            stack
                .iter()
                .rev()
                .find(|f| !matches!(f, Frame::Replay { .. })),
            Some(Frame::Array { .. } | Frame::Hash { .. })
        );
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

    fn malformed(&self, offset: usize, reason: impl Into<String>) -> ThawError {
        ThawError::Malformed {
            offset,
            reason: reason.into(),
        }
    }

    fn unsupported(offset: usize, what: &str) -> ThawError {
        ThawError::Unsupported {
            offset,
            what: what.to_owned(),
        }
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, ThawError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or(ThawError::UnexpectedEnd { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], ThawError> {
        if n > self.remaining() {
            return Err(ThawError::UnexpectedEnd {
                offset: self.input.len(),
            });
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn i32(&mut self) -> Result<i32, ThawError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 32-bit length or count; Storable writes them as signed integers.
    fn length(&mut self) -> Result<usize, ThawError> {
        let at = self.pos;
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| self.malformed(at, format!("negative length {n}")))
    }

    fn header(&mut self) -> Result<(), ThawError> {
        let flags = self.byte()?;
        let minor = self.byte()?;
        if flags & 1 == 0 {
            return Err(Self::unsupported(
                0,
                "native byte order image (Storable::freeze); only network order (nfreeze) is read",
            ));
        }
        let major = flags >> 1;
        if major != MAJOR || minor > READ_MINOR {
            return Err(Self::unsupported(
                0,
                &format!(
                    "Storable image version {major}.{minor} (this reads 2.0 to 2.{READ_MINOR})"
                ),
            ));
        }
        Ok(())
    }

    /// Number a new object (unless replaying) and return its tag.
    fn register(&mut self, start: usize) -> Option<usize> {
        if self.replaying > 0 {
            return None;
        }
        self.tags.push(Tag { start, done: false });
        Some(self.tags.len() - 1)
    }

    fn complete(&mut self, tag: Option<usize>) {
        if let Some(t) = tag.and_then(|t| self.tags.get_mut(t)) {
            t.done = true;
        }
    }

    /// The class of an `SX_BLESS` (recorded for later `SX_IX_BLESS`) or an
    /// `SX_IX_BLESS`.
    #[inline(never)]
    fn class(&mut self, opcode: u8, start: usize) -> Result<String, ThawError> {
        let len = self.bless_len()?;
        if opcode == op::IX_BLESS {
            return self
                .classes
                .get(len)
                .cloned()
                .ok_or_else(|| self.malformed(start, format!("unknown class index {len}")));
        }
        let name = self.take(len)?;
        let class = String::from_utf8(name.to_vec())
            .map_err(|_| self.malformed(start, "class name is not UTF-8"))?;
        if self.replaying == 0 {
            self.classes.push(class.clone());
        }
        Ok(class)
    }

    /// A class name length or class index: one byte, or 0x80 and 4 bytes.
    fn bless_len(&mut self) -> Result<usize, ThawError> {
        let b = self.byte()?;
        if b & 0x80 != 0 {
            self.length()
        } else {
            Ok(usize::from(b))
        }
    }

    /// The opcode after a blessing, which must start a new object.
    #[inline(never)]
    fn blessed_opcode(&mut self) -> Result<u8, ThawError> {
        let at = self.pos;
        let opcode = self.byte()?;
        if matches!(opcode, op::OBJECT | op::BLESS | op::IX_BLESS) {
            return Err(self.malformed(at, "a blessing must be followed by a new object"));
        }
        Ok(opcode)
    }

    /// Find a back-reference's tag: where its bytes start.
    #[inline(never)]
    fn tag_start(&mut self, start: usize) -> Result<usize, ThawError> {
        let at = self.pos;
        let tag = self.i32()?;
        let entry = usize::try_from(tag)
            .ok()
            .and_then(|t| self.tags.get(t).copied())
            .ok_or_else(|| self.malformed(at, format!("back-reference to unknown object {tag}")))?;
        if !entry.done {
            return Err(ThawError::Cycle { offset: start });
        }
        Ok(entry.start)
    }

    /// Skip a v-string's magic; the opcode of the scalar after it.
    #[inline(never)]
    fn skip_vstring(&mut self, opcode: u8) -> Result<u8, ThawError> {
        let len = if opcode == op::VSTRING {
            usize::from(self.byte()?)
        } else {
            self.length()?
        };
        self.take(len)?;
        let at = self.pos;
        let inner = self.byte()?;
        if matches!(inner, op::OBJECT | op::BLESS | op::IX_BLESS) {
            return Err(self.malformed(at, "a v-string must be followed by a scalar"));
        }
        Ok(inner)
    }

    /// A plain scalar opcode's value.
    fn scalar(&mut self, opcode: u8, start: usize) -> Result<Value, ThawError> {
        Ok(match opcode {
            op::UNDEF | op::SV_UNDEF | op::SVUNDEF_ELEM => Value::Undef,
            op::SV_YES | op::BOOLEAN_TRUE => Value::Bool(true),
            op::SV_NO | op::BOOLEAN_FALSE => Value::Bool(false),
            op::BYTE => Value::Int(i64::from(self.byte()?) - 128),
            op::NETINT => Value::Int(i64::from(self.i32()?)),
            op::SCALAR | op::UTF8STR => {
                let len = usize::from(self.byte()?);
                self.string(len, opcode == op::UTF8STR, start)?
            }
            op::LSCALAR | op::LUTF8STR => {
                let len = self.length()?;
                self.string(len, opcode == op::LUTF8STR, start)?
            }
            op::INTEGER | op::DOUBLE => {
                return Err(Self::unsupported(
                    start,
                    "native-order number in a network-order image",
                ));
            }
            op::TIED_ARRAY | op::TIED_HASH | op::TIED_SCALAR | op::TIED_KEY | op::TIED_IDX => {
                return Err(Self::unsupported(start, "tied variable"));
            }
            op::HOOK => {
                return Err(Self::unsupported(
                    start,
                    "object frozen by a STORABLE_freeze hook",
                ));
            }
            op::CODE => {
                return Err(Self::unsupported(start, "code reference (never evaluated)"));
            }
            op::REGEXP => return Err(Self::unsupported(start, "regular expression")),
            op::LOBJECT => return Err(Self::unsupported(start, "object larger than 2 GiB")),
            other => return Err(self.malformed(start, format!("unknown opcode {other}"))),
        })
    }

    fn string(&mut self, len: usize, utf8: bool, start: usize) -> Result<Value, ThawError> {
        self.budget.check_string(len)?;
        let bytes = self.take(len)?;
        if utf8 {
            match std::str::from_utf8(bytes) {
                Ok(s) => Ok(Value::Str(s.to_owned())),
                Err(_) => Err(self.malformed(start, "UTF-8 string is not valid UTF-8")),
            }
        } else {
            Ok(Value::Bytes(bytes.to_vec()))
        }
    }

    /// The element count of an array, checked against the input.
    #[inline(never)]
    fn array_len(&mut self) -> Result<usize, ThawError> {
        let len = self.length()?;
        // Every element takes at least one byte.
        if len > self.remaining() {
            return Err(ThawError::UnexpectedEnd {
                offset: self.input.len(),
            });
        }
        Ok(len)
    }

    /// The entry count of a hash, checked against the input.
    #[inline(never)]
    fn hash_len(&mut self, flagged: bool) -> Result<usize, ThawError> {
        if flagged {
            // Hash flags: only "restricted", which does not change the data.
            self.byte()?;
        }
        let len = self.length()?;
        // Every entry takes a value byte and a 4-byte key length at least.
        if len > self.remaining() / 5 {
            return Err(ThawError::UnexpectedEnd {
                offset: self.input.len(),
            });
        }
        Ok(len)
    }

    /// A hash key (after its value); `None` for a restricted hash's
    /// placeholder, which is not a real entry.
    #[inline(never)]
    fn key(&mut self, flagged: bool) -> Result<Option<Key>, ThawError> {
        let at = self.pos;
        let flags = if flagged { self.byte()? } else { 0 };
        if flags & key_flag::ISSV != 0 {
            return Err(Self::unsupported(at, "hash key stored as a scalar"));
        }
        let key_len = self.length()?;
        self.budget.check_string(key_len)?;
        let raw = self.take(key_len)?;
        if flags & key_flag::PLACEHOLDER != 0 {
            return Ok(None);
        }
        Ok(Some(if flags & key_flag::UTF8 != 0 {
            let text = std::str::from_utf8(raw).map_err(|_| ThawError::Malformed {
                offset: at,
                reason: "UTF-8 hash key is not valid UTF-8".to_owned(),
            })?;
            Key::from(text)
        } else if flags & key_flag::WASUTF8 != 0 {
            // Perl stored a character key as Latin-1 bytes.
            Key::from(raw.iter().map(|&b| char::from(b)).collect::<String>())
        } else {
            Key::from_byte_slice(raw)
        }))
    }
}
