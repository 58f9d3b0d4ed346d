//! The per-request authorization hook ([`RequestAuthorizer`]) that guards
//! IKC's no-publish mode, in the shape the security work (issue 14)
//! defines it, so that the two merge onto one hook.

use std::fmt;
use std::rc::Rc;

/// A request from another kernel, as the per-request hook sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestCheck<'a> {
    /// The kernel the request came from (its kernel ID).
    pub remote_kernel: &'a str,
    /// The session it asks for, as it named it (an alias or a session ID).
    pub session: &'a str,
    /// The state it asks for (for `IKC:proxy` requests, the state carried
    /// inside).
    pub state: &'a str,
    /// Is the state published? In IKC's default mode only published states run,
    /// and the hook sees `true`; in no-publish mode ([`Ikc::no_publish`](crate::Ikc::no_publish))
    /// it is asked with `false` for states that would run
    /// without their being published.
    pub published: bool,
}

type RequestHook = dyn Fn(&RequestCheck<'_>) -> Result<(), String>;

/// The per-request authorization hook: consulted for every request another
/// kernel sends before the state runs, with the remote kernel, the session
/// and the state. `Err(reason)` refuses the request: it is reported as
/// IKC reports an unpublished state (`local-check` to local monitors, and
/// `remote_error` back to the requester, with `Not authorized: reason`).
///
/// Set it with [`Ikc::authorize_requests`](crate::Ikc::authorize_requests).
/// Issue 13's no-publish mode shares it: there, a state that is not
/// published runs only if this hook, asked with `published: false`, agrees.
#[derive(Clone)]
pub struct RequestAuthorizer(Rc<RequestHook>);

impl RequestAuthorizer {
    /// A hook from a closure.
    pub fn new(hook: impl Fn(&RequestCheck<'_>) -> Result<(), String> + 'static) -> Self {
        Self(Rc::new(hook))
    }

    /// Ask the hook.
    ///
    /// # Errors
    ///
    /// The hook's reason for refusing.
    pub fn authorize(&self, request: &RequestCheck<'_>) -> Result<(), String> {
        (self.0)(request)
    }
}

impl fmt::Debug for RequestAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestAuthorizer(..)")
    }
}
