//! What a channel needs to authenticate, encrypt and authorize
//! ([`LinkSecurity`]), and the per-request authorization hook
//! ([`RequestAuthorizer`]).

use std::fmt;
use std::rc::Rc;

use ikc_channel::{
    Authorizer, ClientChannelConfig, Secret, ServerChannelConfig, TlsClient, TlsServer,
};

/// The security settings of one channel, filled in by servers and clients
/// (`ikc-server`'s and `ikc-client`'s builders) and applied to the
/// sans-IO channel. The default is none: IKC as Perl speaks it.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LinkSecurity {
    /// The cluster's shared secret (see [`ikc_channel::Secret`]).
    pub secret: Option<Secret>,
    /// Server: refuse clients that do not prove the secret.
    pub require_auth: bool,
    /// Server: speak TLS with this certificate.
    pub tls_server: Option<TlsServer>,
    /// Client: speak TLS, verifying the server with this.
    pub tls_client: Option<TlsClient>,
    /// Server: decide per connecting kernel.
    pub authorizer: Option<Authorizer>,
}

impl LinkSecurity {
    pub(crate) fn apply_to_client(&self, config: &mut ClientChannelConfig) {
        config.secret.clone_from(&self.secret);
        config.tls.clone_from(&self.tls_client);
    }

    pub(crate) fn apply_to_server(&self, config: &mut ServerChannelConfig) {
        config.secret.clone_from(&self.secret);
        config.require_auth = self.require_auth;
        config.tls.clone_from(&self.tls_server);
        config.authorizer.clone_from(&self.authorizer);
    }
}

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
    /// Is the state published (or allowed once, as an RSVP answer)? In
    /// IKC's default mode only such states run, and the hook sees `true`;
    /// in no-publish mode ([`Ikc::no_publish`](crate::Ikc::no_publish)) it
    /// is asked with `false` for states that would run without their being
    /// published.
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
