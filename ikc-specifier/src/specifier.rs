//! The [`Specifier`] type, its parts, and its printed forms.

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseError, ParseErrorKind};
use crate::parse;

/// The kernel or session part of a specifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Part {
    /// Not given. For a kernel this means "the local kernel" (or, for
    /// `IKC/post`, the default remote kernel); for a session it is filled in
    /// from context (for example the calling session). IKC writes it as `''`.
    #[default]
    Unspecified,
    /// `*`: every connected kernel, or (Lightspeed) every session.
    All,
    /// One name, or several (Lightspeed's comma list `poe://a,b/...`).
    /// Never empty.
    Names(Vec<String>),
}

impl Part {
    /// A part naming exactly one kernel or session.
    pub fn name(name: impl Into<String>) -> Self {
        Self::Names(vec![name.into()])
    }

    /// Build a part from IKC's hash-form text: `''` is unspecified, `*` is
    /// every kernel/session, and commas separate several names.
    pub fn from_ikc(text: &str) -> Self {
        match text {
            "" => Self::Unspecified,
            "*" => Self::All,
            _ => Self::Names(text.split(',').map(str::to_owned).collect()),
        }
    }

    /// The text IKC would put in a hash-form specifier: `''`, `*`, or the
    /// names joined by commas.
    pub fn to_ikc(&self) -> String {
        match self {
            Self::Unspecified => String::new(),
            Self::All => "*".to_owned(),
            Self::Names(names) => names.join(","),
        }
    }

    /// The single name, if this part names exactly one.
    pub fn single(&self) -> Option<&str> {
        match self {
            Self::Names(names) if names.len() == 1 => Some(&names[0]),
            _ => None,
        }
    }

    /// The names given (empty for [`Part::Unspecified`] and [`Part::All`]).
    pub fn names(&self) -> &[String] {
        match self {
            Self::Names(names) => names,
            _ => &[],
        }
    }

    /// Is this part given at all?
    pub fn is_specified(&self) -> bool {
        !matches!(self, Self::Unspecified)
    }

    /// Is this part `*`?
    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unspecified => Ok(()),
            Self::All => f.write_str("*"),
            Self::Names(names) => {
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(name)?;
                }
                Ok(())
            }
        }
    }
}

/// Which part of a specifier [`specifier_part`] should return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartName {
    /// The kernel.
    Kernel,
    /// The session.
    Session,
    /// The state.
    State,
    /// The `?arg` suffix.
    Arg,
}

/// An IKC event specifier: which kernel(s), session(s) and state an event
/// is for, plus IKC's optional `?arg`.
///
/// Parse one with [`str::parse`] (or [`Specifier::parse`]), build one with
/// the constructors, and print it with [`Display`](fmt::Display) (a form
/// that parses back to the same value) or [`Specifier::ikc_name`] (exactly
/// what IKC's `specifier_name` prints, which is what appears on the wire in
/// error messages and proxy-session names).
///
/// # Examples
///
/// ```
/// use ikc_specifier::{Part, Specifier};
///
/// let spec: Specifier = "poe://Pulse/timeserver/connect".parse()?;
/// assert_eq!(spec.kernel, Part::name("Pulse"));
/// assert_eq!(spec.session, Part::name("timeserver"));
/// assert_eq!(spec.state.as_deref(), Some("connect"));
/// assert_eq!(spec.to_string(), "poe://Pulse/timeserver/connect");
/// # Ok::<(), ikc_specifier::ParseError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Specifier {
    /// The kernel(s): a name, kernel ID, alias, `host:port`, `unix:name`, `*`, or not given.
    pub kernel: Part,
    /// The session(s): an alias (or, Lightspeed, `*`), or not given.
    pub session: Part,
    /// The state (event name), if given.
    pub state: Option<String>,
    /// IKC's `?arg` suffix: an extra argument appended to the event's arguments.
    pub arg: Option<String>,
}

/// A specifier in IKC's hash form, `{kernel => .., session => .., state => ..}`,
/// with `''` for a part that is not given.
///
/// This is the shape specifiers take inside IKC messages (`from`, `rsvp`,
/// and often `event`). It holds strings as they arrived: no validation, so
/// names IKC uses internally (`IKC:proxy`, `IKC:receipt ...`) pass through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HashForm {
    /// The kernel name, `*`, or `''`.
    pub kernel: String,
    /// The session alias, or `''`.
    pub session: String,
    /// The state name, or `''`.
    pub state: String,
}

impl HashForm {
    /// A hash-form specifier from its three parts.
    pub fn new(
        kernel: impl Into<String>,
        session: impl Into<String>,
        state: impl Into<String>,
    ) -> Self {
        Self {
            kernel: kernel.into(),
            session: session.into(),
            state: state.into(),
        }
    }

    /// IKC's `specifier_name` of this hash.
    pub fn ikc_name(&self) -> String {
        ikc_name(&self.kernel, &self.session, &self.state)
    }
}

impl fmt::Display for HashForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ikc_name())
    }
}

/// IKC's `specifier_name` rule: `poe:`, then `//kernel`, `/session` and
/// `/state` for each part that is not empty.
fn ikc_name(kernel: &str, session: &str, state: &str) -> String {
    let mut name = String::with_capacity(6 + kernel.len() + session.len() + state.len());
    name.push_str("poe:");
    if !kernel.is_empty() {
        name.push_str("//");
        name.push_str(kernel);
    }
    if !session.is_empty() {
        name.push('/');
        name.push_str(session);
    }
    if !state.is_empty() {
        name.push('/');
        name.push_str(state);
    }
    name
}

impl Specifier {
    /// Parse any string form: `poe://kernel/session/state`, `poe:/session/state`,
    /// `poe:state`, `session/state`, `//kernel/session/state`, with `?arg`,
    /// comma lists and `*`.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] saying which part is malformed and where.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse::parse(text)
    }

    /// `poe://kernel/session/state`.
    pub fn remote(
        kernel: impl Into<String>,
        session: impl Into<String>,
        state: impl Into<String>,
    ) -> Self {
        Self {
            kernel: Part::name(kernel),
            session: Part::name(session),
            state: Some(state.into()),
            arg: None,
        }
    }

    /// `poe:/session/state`: a state of a session, kernel not given.
    pub fn local(session: impl Into<String>, state: impl Into<String>) -> Self {
        Self {
            session: Part::name(session),
            state: Some(state.into()),
            ..Self::default()
        }
    }

    /// `poe:state`: a state only (of the current session).
    pub fn state_only(state: impl Into<String>) -> Self {
        Self {
            state: Some(state.into()),
            ..Self::default()
        }
    }

    /// `poe://kernel/session`: a session of a kernel, without a state (what
    /// `subscribe` takes).
    pub fn session_of(kernel: impl Into<String>, session: impl Into<String>) -> Self {
        Self {
            kernel: Part::name(kernel),
            session: Part::name(session),
            ..Self::default()
        }
    }

    /// Build from IKC's hash form: `''` parts are unspecified, `*` is every
    /// kernel/session, commas separate names. No validation is done.
    pub fn from_hash_form(hash: &HashForm) -> Self {
        Self {
            kernel: Part::from_ikc(&hash.kernel),
            session: Part::from_ikc(&hash.session),
            state: (!hash.state.is_empty()).then(|| hash.state.clone()),
            arg: None,
        }
    }

    /// IKC's hash form of this specifier (the `?arg` is not part of it).
    pub fn to_hash_form(&self) -> HashForm {
        HashForm {
            kernel: self.kernel.to_ikc(),
            session: self.session.to_ikc(),
            state: self.state.clone().unwrap_or_default(),
        }
    }

    /// Build from the array form: `[session, state]` (IKC's
    /// `specifier_name` accepts this) or `[kernel, session, state]`
    /// (Lightspeed). Each element may be empty; the names are validated.
    ///
    /// # Errors
    ///
    /// [`ParseErrorKind::BadArrayLength`] for other lengths, or the error of
    /// a malformed element.
    pub fn from_array<S: AsRef<str>>(parts: &[S]) -> Result<Self, ParseError> {
        let joined = parts
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join("/");
        let (kernel, session, state) = match parts {
            [session, state] => ("", session.as_ref(), state.as_ref()),
            [kernel, session, state] => (kernel.as_ref(), session.as_ref(), state.as_ref()),
            _ => {
                return Err(ParseError {
                    input: joined,
                    position: 0,
                    kind: ParseErrorKind::BadArrayLength(parts.len()),
                });
            }
        };
        // Validate each element with the string parser's rules.
        let err = |position: usize, kind| ParseError {
            input: joined.clone(),
            position,
            kind,
        };
        let kernel_part = validate_list(kernel, parse::is_kernel_name).map_err(|k| {
            err(
                0,
                k.map_or(ParseErrorKind::WildcardInList, ParseErrorKind::BadKernel),
            )
        })?;
        let session_at = if parts.len() == 3 {
            kernel.len() + 1
        } else {
            0
        };
        let session_part =
            validate_list(session, |s| s.chars().all(parse::is_name_char)).map_err(|k| {
                err(
                    session_at,
                    k.map_or(ParseErrorKind::WildcardInList, ParseErrorKind::BadSession),
                )
            })?;
        if !state.chars().all(parse::is_name_char) {
            return Err(err(
                session_at + session.len() + 1,
                ParseErrorKind::BadState(state.to_owned()),
            ));
        }
        Ok(Self {
            kernel: kernel_part,
            session: session_part,
            state: (!state.is_empty()).then(|| state.to_owned()),
            arg: None,
        })
    }

    /// Exactly what IKC's `specifier_name` prints for this specifier:
    /// `poe:` followed by `//kernel`, `/session` and `/state` for each part
    /// given. The `?arg` is not printed, and a state without a session prints
    /// as `poe:/state` (which IKC would read back as a session): use
    /// [`Display`](fmt::Display) for a form that round-trips.
    pub fn ikc_name(&self) -> String {
        ikc_name(
            &self.kernel.to_ikc(),
            &self.session.to_ikc(),
            self.state.as_deref().unwrap_or(""),
        )
    }

    /// Fill in an unspecified kernel and session, as the responder does when
    /// a request is relative to the kernel and session it came from.
    pub fn resolve_relative(&self, kernel: &str, session: &str) -> Self {
        self.clone().or_kernel(kernel).or_session(session)
    }

    /// This specifier with `kernel` as its kernel if none was given.
    pub fn or_kernel(mut self, kernel: &str) -> Self {
        if !self.kernel.is_specified() && !kernel.is_empty() {
            self.kernel = Part::name(kernel);
        }
        self
    }

    /// This specifier with `session` as its session if none was given.
    pub fn or_session(mut self, session: &str) -> Self {
        if !self.session.is_specified() && !session.is_empty() {
            self.session = Part::name(session);
        }
        self
    }

    /// The session part alone: `poe://kernel/session` (what a proxy session
    /// is named after).
    pub fn without_state(&self) -> Self {
        Self {
            kernel: self.kernel.clone(),
            session: self.session.clone(),
            state: None,
            arg: None,
        }
    }

    /// The single kernel name, if exactly one is given.
    pub fn kernel_name(&self) -> Option<&str> {
        self.kernel.single()
    }

    /// The single session name, if exactly one is given.
    pub fn session_name(&self) -> Option<&str> {
        self.session.single()
    }

    /// One part as IKC's `specifier_part` returns it: `''` when not given.
    pub fn part(&self, which: PartName) -> String {
        match which {
            PartName::Kernel => self.kernel.to_ikc(),
            PartName::Session => self.session.to_ikc(),
            PartName::State => self.state.clone().unwrap_or_default(),
            PartName::Arg => self.arg.clone().unwrap_or_default(),
        }
    }
}

/// Validate a comma list; `Err(None)` means `*` was mixed with names.
fn validate_list(text: &str, valid: impl Fn(&str) -> bool) -> Result<Part, Option<String>> {
    match text {
        "" => Ok(Part::Unspecified),
        "*" => Ok(Part::All),
        _ => {
            let mut names = Vec::new();
            for name in text.split(',') {
                if name == "*" {
                    return Err(None);
                }
                if name.is_empty() || !valid(name) {
                    return Err(Some(name.to_owned()));
                }
                names.push(name.to_owned());
            }
            Ok(Part::Names(names))
        }
    }
}

impl FromStr for Specifier {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse(s)
    }
}

impl TryFrom<&str> for Specifier {
    type Error = ParseError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        parse::parse(s)
    }
}

impl From<&HashForm> for Specifier {
    fn from(hash: &HashForm) -> Self {
        Self::from_hash_form(hash)
    }
}

impl From<&Specifier> for HashForm {
    fn from(spec: &Specifier) -> Self {
        spec.to_hash_form()
    }
}

/// Prints a form that [`Specifier::parse`] reads back to an equal value.
///
/// This is IKC's `specifier_name` for every form IKC prints unambiguously;
/// it differs only where IKC's output would not parse back: a state alone
/// prints as `poe:state` (IKC: `poe:/state`), a kernel and state without a
/// session print in the relative form `//kernel/state`, and `?arg` is kept.
impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.as_deref().unwrap_or("");
        match (self.kernel.is_specified(), self.session.is_specified()) {
            (true, false) if !state.is_empty() => write!(f, "//{}/{state}", self.kernel)?,
            (false, false) => write!(f, "poe:{state}")?,
            _ => f.write_str(&self.ikc_name())?,
        }
        if let Some(arg) = &self.arg {
            write!(f, "?{arg}")?;
        }
        Ok(())
    }
}

/// IKC's `specifier_part`: one part of a specifier string, or `None` if it
/// does not parse. As in IKC, text that does not start with `poe:` is read
/// as `poe://` + text, so `specifier_part("Pulse", PartName::Kernel)` is
/// `Some("Pulse")`. A part that is not given is `Some("")`.
///
/// # Examples
///
/// ```
/// use ikc_specifier::{specifier_part, PartName};
///
/// assert_eq!(specifier_part("Pulse", PartName::Kernel).as_deref(), Some("Pulse"));
/// assert_eq!(specifier_part("poe:/timer/tick", PartName::State).as_deref(), Some("tick"));
/// assert_eq!(specifier_part("poe:/bad!", PartName::State), None);
/// ```
pub fn specifier_part(text: &str, which: PartName) -> Option<String> {
    let spec = if text.starts_with("poe:") {
        Specifier::parse(text)
    } else {
        Specifier::parse(&format!("poe://{text}"))
    };
    spec.ok().map(|s| s.part(which))
}
