//! [`Ikc`]: the responder's object interface (Perl's `$ikc`).

use std::fmt;
use std::panic::Location;

use ikc_channel::Message;
use ikc_core::{Ctx, SessionId};
use ikc_freezer::Value;

use crate::error::{ConnectionError, IkcError};
use crate::monitor::MonitorStates;
use crate::responder::{self, Dest};
use crate::send::send_msg;
use crate::state::{self, Shared};

/// The responder's object interface, for code running in the responder's
/// kernel (a handler with its [`Ctx`]). Cheap to clone; not `Send`.
///
/// Everything here is also reachable by posting or calling the `IKC`
/// session's states, as in Perl (`ctx.call("IKC", "publish", ...)`).
///
/// Get one from [`Responder::spawn`](crate::Responder::spawn) or, in a
/// handler, [`Ikc::of`].
#[derive(Clone)]
pub struct Ikc {
    shared: Shared,
}

impl fmt::Debug for Ikc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.borrow();
        f.debug_struct("Ikc")
            .field("kernel_id", &st.kernel_id)
            .field("session", &st.session)
            .finish_non_exhaustive()
    }
}

/// A kernel the responder can reach, for introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelInfo {
    /// Its real ID.
    pub id: String,
    /// Its other names.
    pub aliases: Vec<String>,
    /// The channel session it is reached through: its own link, or the
    /// first link of the path for a kernel reached through others (`None`
    /// for our own kernel).
    pub channel: Option<SessionId>,
    /// How it is reached.
    pub reached: Reached,
    /// The number it drew when it started (a restarted kernel has a
    /// larger one), for kernels of the mesh; `None` for kernels that do
    /// not route (Perl IKC, ClientLite) and kernels outside the mesh.
    pub incarnation: Option<u64>,
}

/// How a kernel is reached from this one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reached {
    /// It is this kernel.
    Local,
    /// Over a link of its own.
    Direct,
    /// Through other kernels of the mesh.
    Routed {
        /// The neighbour a message for it goes to first (its kernel ID).
        via: String,
        /// How many links the path crosses.
        hops: u32,
    },
}

impl Ikc {
    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self { shared }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The responder of the kernel `ctx` runs in, if one was started.
    pub fn of(ctx: &Ctx<'_>) -> Option<Self> {
        state::lookup(ctx).map(Self::from_shared)
    }

    /// The responder of the kernel `ctx` runs in.
    ///
    /// # Errors
    ///
    /// [`IkcError::NoResponder`] if none was started (or it shut down).
    pub fn require(ctx: &Ctx<'_>) -> Result<Self, IkcError> {
        Self::of(ctx).ok_or(IkcError::NoResponder)
    }

    /// The `IKC` session's id.
    pub fn session(&self) -> SessionId {
        self.shared.borrow().session
    }

    /// This kernel's ID.
    pub fn kernel_id(&self) -> String {
        self.shared.borrow().kernel_id.clone()
    }

    /// Send `params` as ARG0 of a remote state (IKC's `post`). The
    /// specifier names the kernel (or `*`, or none for the default kernel),
    /// session and state: `poe://Server/test/here`, or `Server/test/here`.
    /// If the calling session published something, the remote handler can
    /// answer its `SENDER`. Returns the number of kernels it was sent to.
    #[track_caller]
    pub fn post(&self, ctx: &mut Ctx<'_>, to: &str, params: impl Into<Value>) -> usize {
        let to = responder::text_target(&self.shared, to);
        let sender = Some(ctx.session_id());
        let msg = Message {
            caller: here(ctx, Location::caller()),
            ..Message::post(to, params)
        };
        send_msg(&self.shared, ctx, msg, sender)
    }

    /// Post to a remote state and have its return value posted to `rsvp`
    /// (IKC's `call`): `rsvp` is a state of the calling session
    /// (`"answer"`), or a specifier (`"poe:/session/state"`). The RSVP
    /// state may be posted once by the remote kernel without being
    /// published. Returns the number of kernels the request went to.
    #[track_caller]
    pub fn call(&self, ctx: &mut Ctx<'_>, to: &str, params: impl Into<Value>, rsvp: &str) -> usize {
        let sender = Some(ctx.session_id());
        let caller = here(ctx, Location::caller());
        responder::call(
            &self.shared,
            ctx,
            Dest::Text(to),
            params.into(),
            Dest::Text(rsvp),
            sender,
            caller,
        )
    }

    /// Send a prepared message as is (IKC's `raw_message`).
    pub fn send_message(&self, ctx: &mut Ctx<'_>, message: Message) -> usize {
        let sender = Some(ctx.session_id());
        send_msg(&self.shared, ctx, message, sender)
    }

    /// Let remote kernels invoke `states` of the session aliased `session`.
    pub fn publish<S: AsRef<str>>(&self, session: &str, states: &[S]) {
        let states: Vec<String> = states.iter().map(|s| s.as_ref().to_owned()).collect();
        self.shared
            .borrow_mut()
            .published
            .publish(&[session.to_owned()], &states);
    }

    /// Set the per-request authorization hook (see
    /// [`RequestAuthorizer`](crate::RequestAuthorizer)), replacing any
    /// earlier one; every request from another kernel is checked with it
    /// before its state runs.
    ///
    /// ```
    /// # use ikc_core::Kernel;
    /// # use ikc_responder::Responder;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut kernel = Kernel::new()?;
    /// let ikc = Responder::spawn(&mut kernel);
    /// // Kernels whose ID starts with "worker" may only call `jobs/status`.
    /// ikc.authorize_requests(|req| {
    ///     if req.remote_kernel.starts_with("worker") && (req.session, req.state) != ("jobs", "status") {
    ///         return Err(format!("{} may only call jobs/status", req.remote_kernel));
    ///     }
    ///     Ok(())
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn authorize_requests(
        &self,
        hook: impl Fn(&crate::RequestCheck<'_>) -> Result<(), String> + 'static,
    ) {
        self.shared.borrow_mut().request_authorizer = Some(crate::RequestAuthorizer::new(hook));
    }

    /// Remove the per-request authorization hook.
    pub fn clear_request_authorizer(&self) {
        self.shared.borrow_mut().request_authorizer = None;
    }

    /// Lightspeed's no-publish mode: remote kernels may invoke any state of
    /// any aliased session of this kernel, published or not, as long as
    /// `hook` agrees (it is asked with the remote kernel, the session and
    /// the state, and `published: false` for an unpublished state; it
    /// becomes the per-request hook, see
    /// [`authorize_requests`](Self::authorize_requests)). POE's own states
    /// (`_start`, ...) and the `IKC` session's unpublished states stay out
    /// of reach. A refused request gets IKC's error, as an unpublished state
    /// does: `local-check` here, `remote_error` to the requester.
    ///
    /// The default is IKC's: only published states run.
    ///
    /// ```
    /// # use ikc_core::Kernel;
    /// # use ikc_responder::Responder;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut kernel = Kernel::new()?;
    /// let ikc = Responder::spawn(&mut kernel);
    /// // Any state of `jobs`, and what is published; nothing else.
    /// ikc.no_publish(|req| match (req.published, req.session) {
    ///     (true, _) | (false, "jobs") => Ok(()),
    ///     _ => Err(format!("{} may not reach {}", req.remote_kernel, req.session)),
    /// });
    /// assert!(ikc.is_no_publish());
    /// ikc.require_publish();
    /// assert!(!ikc.is_no_publish());
    /// # Ok(())
    /// # }
    /// ```
    pub fn no_publish(
        &self,
        hook: impl Fn(&crate::RequestCheck<'_>) -> Result<(), String> + 'static,
    ) {
        let mut st = self.shared.borrow_mut();
        st.request_authorizer = Some(crate::RequestAuthorizer::new(hook));
        st.no_publish = true;
    }

    /// Back to IKC's rule: only published states run (the per-request hook
    /// stays).
    pub fn require_publish(&self) {
        self.shared.borrow_mut().no_publish = false;
    }

    /// Send (the default) or leave out the `caller` details of messages
    /// (the sender's kernel, session, state, file and line; about 100
    /// bytes each). Without them, handlers in other kernels see only what
    /// IKC's `from` says, as a Perl sender's, and a session that published
    /// nothing cannot be answered.
    pub fn send_caller(&self, on: bool) {
        self.shared.borrow_mut().send_caller = on;
    }

    /// Is no-publish mode on?
    pub fn is_no_publish(&self) -> bool {
        self.shared.borrow().no_publish
    }

    /// Publish `states` of the calling session, under each of its aliases.
    ///
    /// # Errors
    ///
    /// [`IkcError::NoAlias`] if the session has no alias for remote kernels to name.
    pub fn publish_self<S: AsRef<str>>(&self, ctx: &Ctx<'_>, states: &[S]) -> Result<(), IkcError> {
        let aliases = ctx.alias_list(ctx.session_id());
        if aliases.is_empty() {
            return Err(IkcError::NoAlias(ctx.session_id()));
        }
        let states: Vec<String> = states.iter().map(|s| s.as_ref().to_owned()).collect();
        self.shared
            .borrow_mut()
            .published
            .publish(&aliases, &states);
        Ok(())
    }

    /// Take back published states (all of them with `None`).
    ///
    /// # Errors
    ///
    /// [`IkcError::NotPublished`] if `session` published nothing.
    pub fn retract<S: AsRef<str>>(
        &self,
        session: &str,
        states: Option<&[S]>,
    ) -> Result<(), IkcError> {
        let states: Option<Vec<String>> =
            states.map(|s| s.iter().map(|x| x.as_ref().to_owned()).collect());
        if self
            .shared
            .borrow_mut()
            .published
            .retract(&[session.to_owned()], states.as_deref())
        {
            Ok(())
        } else {
            Err(IkcError::NotPublished(session.to_owned()))
        }
    }

    /// The states `session` published.
    pub fn published(&self, session: &str) -> Vec<String> {
        self.shared.borrow().published.states_of(session)
    }

    /// Subscribe to remote sessions (`poe://Kernel/session`): for each one a
    /// kernel has published, a local proxy session is created, aliased
    /// `poe://Kernel/session` (and `session` if free); posting to it sends to
    /// the remote session. When every specifier is answered, `callback` (a
    /// state of the calling session) is posted with the list of specifiers
    /// that succeeded.
    ///
    /// # Errors
    ///
    /// [`IkcError::NoResponder`] if the responder session is gone.
    pub fn subscribe<S: AsRef<str>>(
        &self,
        ctx: &mut Ctx<'_>,
        specs: &[S],
        callback: Option<&str>,
    ) -> Result<(), IkcError> {
        let specs = Value::Array(specs.iter().map(|s| Value::from(s.as_ref())).collect());
        let callback = callback.map_or(Value::Undef, Value::from);
        let ikc = self.session();
        ctx.call(ikc, "subscribe", vec![specs, callback])
            .map(|_| ())
            .map_err(|_| IkcError::NoResponder)
    }

    /// Remove the proxies of these subscriptions.
    pub fn unsubscribe<S: AsRef<str>>(&self, ctx: &mut Ctx<'_>, specs: &[S]) {
        for spec in specs {
            let _ = ctx.post(spec.as_ref(), crate::proxy::SHUTDOWN_STATE, Vec::new());
        }
    }

    /// Watch a remote kernel (a name, alias or specifier) or `*` (every
    /// kernel): the calling session's states named in `states` are posted
    /// when it registers, unregisters, is subscribed to, and so on, with
    /// ARG0 the name given here, ARG1 the kernel's name, ARG2 true when
    /// ARG1 is its real ID, ARG3 `states.data`, then the operation's own
    /// arguments. Empty `states` stop watching.
    pub fn monitor(&self, ctx: &Ctx<'_>, kernel: &str, states: &MonitorStates) {
        responder::monitor(&self.shared, ctx.session_id(), kernel, states);
    }

    /// Make `kernel` (a name or ID) the default for specifiers that name none.
    ///
    /// # Errors
    ///
    /// [`IkcError::UnknownKernel`] if no such kernel is registered.
    pub fn set_default_kernel(&self, kernel: &str) -> Result<(), IkcError> {
        if self.shared.borrow_mut().remotes.set_default(kernel) {
            Ok(())
        } else {
            Err(IkcError::UnknownKernel(kernel.to_owned()))
        }
    }

    /// The default kernel's real ID.
    pub fn default_kernel(&self) -> Option<String> {
        self.shared
            .borrow()
            .remotes
            .default_kernel()
            .map(str::to_owned)
    }

    /// Give this kernel more names remote kernels (and local posts) may use.
    pub fn register_local<S: AsRef<str>>(&self, ctx: &mut Ctx<'_>, names: &[S]) {
        let names: Vec<String> = names.iter().map(|s| s.as_ref().to_owned()).collect();
        responder::register_local(&self.shared, ctx, &names);
    }

    /// Every kernel the responder can reach: our own, those connected
    /// directly (in the order they registered), then those the mesh
    /// reaches through others (by ID).
    pub fn kernels(&self) -> Vec<KernelInfo> {
        crate::introspect::kernels(&self.shared)
    }

    /// Report a connection problem that has no `on_error` to take it to the
    /// error monitors, as IKC does: operation `channel-<operation>`, message
    /// `"[errnum] message"`. Returns whether any monitor heard it.
    pub fn report_connection_error(&self, ctx: &mut Ctx<'_>, error: &ConnectionError) -> bool {
        crate::send::report_error(
            &self.shared,
            ctx,
            crate::send::ErrorSide::Channel,
            &error.monitor_text(),
            None,
            error.operation().as_str(),
            true,
        ) > 0
    }

    /// The mesh router's counters (control messages and records sent and
    /// received, recomputations...).
    pub fn mesh_stats(&self) -> ikc_router::RouterStats {
        self.shared.borrow().mesh.router.stats()
    }

    /// Every kernel the mesh router knows, this one included, with how it
    /// is reached.
    pub fn mesh_kernels(&self) -> Vec<ikc_router::KernelEntry> {
        self.shared.borrow().mesh.router.kernels()
    }

    /// The route the mesh router takes to each kernel it reaches: the
    /// neighbour a message leaves through, the path's total weight and its
    /// number of links.
    pub fn mesh_routes(&self) -> Vec<ikc_router::RouteEntry> {
        self.shared.borrow().mesh.router.routes()
    }

    /// Configure the mesh's router: the most kernels it keeps records of
    /// (which bounds its memory), the hop limit, how often links are
    /// probed, record ages, link weights from round trips, flood limits
    /// (see [`RouterConfig`](crate::RouterConfig)). Its kernel ID,
    /// incarnation and names stay this kernel's. Call it before the kernel
    /// joins the mesh, typically in the session that starts its servers
    /// and clients: once a link is up the router's configuration is fixed.
    ///
    /// ```
    /// use ikc_core::{InlineStates, Kernel};
    /// use ikc_responder::Responder;
    ///
    /// let mut kernel = Kernel::new()?;
    /// kernel.spawn(InlineStates::new().state("_start", |_, ctx, _| {
    ///     let ikc = Responder::spawn(ctx);
    ///     ikc.configure_mesh(ctx, |config| {
    ///         config.max_kernels = 200;
    ///         config.hop_limit = 4;
    ///     })
    ///     .expect("no link is up yet, and the limits are valid");
    ///     ikc.shutdown(ctx);
    /// }));
    /// kernel.run()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`MeshConfigError::LinksUp`](crate::MeshConfigError::LinksUp) once
    /// a link is up; [`MeshConfigError::Invalid`](crate::MeshConfigError::Invalid)
    /// when the router refuses the values (a limit of 0...).
    pub fn configure_mesh(
        &self,
        ctx: &mut Ctx<'_>,
        configure: impl FnOnce(&mut crate::RouterConfig),
    ) -> Result<(), crate::MeshConfigError> {
        let now = ctx.now();
        self.shared.borrow_mut().mesh.reconfigure(configure, now)?;
        crate::mesh::drive(&self.shared, ctx);
        Ok(())
    }

    /// Is a kernel with this name or ID connected?
    pub fn is_connected(&self, kernel: &str) -> bool {
        let st = self.shared.borrow();
        st.remotes
            .real_id(kernel)
            .is_some_and(|id| id != st.kernel_id)
    }

    /// Shut IKC down: every channel closes once its queued output is
    /// written, shutdown monitors are told, servers stop listening, and the
    /// kernel can exit.
    pub fn shutdown(&self, ctx: &mut Ctx<'_>) {
        let ikc = self.session();
        if ctx.session_id() == ikc {
            responder::shutdown(&self.shared, ctx);
        } else if let Err(e) = ctx.call(ikc, "shutdown", Vec::new()) {
            log::warn!("IKC shutdown: {e}");
        }
    }
}

/// IKC reads a specifier without `poe:` as `poe://` + it.
pub(crate) fn absolute(to: &str) -> String {
    if to.starts_with("poe:") {
        to.to_owned()
    } else {
        format!("poe://{to}")
    }
}

/// The `caller` of a message the running handler sends from `at`.
fn here(ctx: &Ctx<'_>, at: &Location<'_>) -> Option<std::sync::Arc<ikc_channel::CallerInfo>> {
    let sender = ikc_core::Sender::Session(ctx.session_id());
    crate::caller::caller_of(
        ctx,
        &sender,
        Some(ctx.current_state()),
        at.file(),
        at.line(),
    )
}
