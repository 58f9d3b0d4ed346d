//! [`Limits`]: how much a decoder accepts from one input.

/// Caps every decoder applies to one input, so bytes from the network can
/// neither exhaust memory nor overflow the stack.
///
/// Besides these caps, every declared length or count is checked against
/// the bytes that remain before anything is allocated.
///
/// ```
/// use ikc_freezer::Limits;
///
/// let strict = Limits { max_depth: 64, ..Limits::default() };
/// assert_eq!(strict.max_elements, Limits::default().max_elements);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of references (arrays, hashes, scalar references,
    /// blessings) accepted. Decoders recurse once per level, so keep this
    /// well below what a thread's stack can hold (512 levels need far less
    /// than the 2 MiB of a spawned thread's default stack).
    pub max_depth: usize,
    /// Most values (scalars and references, counting every copy of a
    /// shared reference) one input may produce.
    pub max_elements: usize,
    /// Longest single string or byte string, in bytes.
    pub max_string_len: usize,
    /// Longest input accepted, in bytes.
    pub max_input_len: usize,
}

impl Limits {
    /// The default depth limit.
    pub const DEFAULT_MAX_DEPTH: usize = 512;
    /// The default element limit.
    pub const DEFAULT_MAX_ELEMENTS: usize = 1 << 20;
    /// The default string length limit: 64 MiB.
    pub const DEFAULT_MAX_STRING_LEN: usize = 64 << 20;
    /// The default input length limit: 64 MiB.
    pub const DEFAULT_MAX_INPUT_LEN: usize = 64 << 20;
}

impl Default for Limits {
    /// 512 levels, 1,048,576 values, 64 MiB strings, 64 MiB input.
    fn default() -> Self {
        Self {
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_elements: Self::DEFAULT_MAX_ELEMENTS,
            max_string_len: Self::DEFAULT_MAX_STRING_LEN,
            max_input_len: Self::DEFAULT_MAX_INPUT_LEN,
        }
    }
}

/// Running counts a decoder checks against its [`Limits`].
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    elements: usize,
}

impl Budget {
    /// Check the input length and start counting.
    pub(crate) fn new(limits: Limits, input_len: usize) -> Result<Self, crate::ThawError> {
        if input_len > limits.max_input_len {
            return Err(crate::ThawError::TooLarge {
                what: "input length",
                declared: input_len as u64,
                limit: limits.max_input_len as u64,
            });
        }
        Ok(Self {
            limits,
            elements: 0,
        })
    }

    /// Count `n` more values.
    pub(crate) fn take_elements(&mut self, n: usize) -> Result<(), crate::ThawError> {
        self.elements = self.elements.saturating_add(n);
        if self.elements > self.limits.max_elements {
            return Err(crate::ThawError::TooLarge {
                what: "value count",
                declared: self.elements as u64,
                limit: self.limits.max_elements as u64,
            });
        }
        Ok(())
    }

    /// The limits counted against.
    #[cfg(feature = "storable-codec")]
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// How many values were counted.
    pub(crate) fn elements(&self) -> usize {
        self.elements
    }

    /// Could `n` more values be counted?
    pub(crate) fn has_room_for(&self, n: usize) -> bool {
        self.elements.saturating_add(n) <= self.limits.max_elements
    }

    /// Check that entering nesting level `depth` is allowed.
    pub(crate) fn check_depth(&self, depth: usize) -> Result<(), crate::ThawError> {
        if depth > self.limits.max_depth {
            return Err(crate::ThawError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }

    /// Check a string length against the limit.
    pub(crate) fn check_string(&self, len: usize) -> Result<(), crate::ThawError> {
        if len > self.limits.max_string_len {
            return Err(crate::ThawError::TooLarge {
                what: "string length",
                declared: len as u64,
                limit: self.limits.max_string_len as u64,
            });
        }
        Ok(())
    }
}
