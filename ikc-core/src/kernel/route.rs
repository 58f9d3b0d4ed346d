//! Where an event goes: a local session, or the forwarder (another kernel).
//!
//! A name target is looked up as an alias, then as a session id in digits,
//! then, if it starts with `poe:` or `//`, parsed as an IKC specifier. A
//! specifier whose kernel is unspecified or one of this kernel's names is
//! delivered locally; any other kernel (or `*`, or a list naming any other
//! kernel) goes to the forwarder as [`FORWARD_STATE`].

use ikc_freezer::Value;
use ikc_specifier::{Part, Specifier};

use crate::error::{CallError, DeliveryError, PostError};
use crate::event::{Event, StateName};
use crate::ids::{SessionId, Target};
use crate::kernel::core::{Core, DispatchError};

/// The state the forwarder receives for an event bound to another kernel.
///
/// The event carries no arguments: it says that one [`RemotePost`] waits,
/// and the forwarder takes it with
/// [`Ctx::take_remote_post`](crate::Ctx::take_remote_post) (one per
/// `FORWARD_STATE` event, in the order they were posted). The event's
/// SENDER is the original sender.
pub const FORWARD_STATE: &str = "IKC:forward";

/// An event posted to a session of another kernel, as the forwarder gets
/// it: the parsed destination (its kernel part names another kernel, a
/// list or `*`; its state is the event's state; a `?arg` is kept) and the
/// event itself (state, arguments, sender, caller).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RemotePost {
    /// Where it goes: `poe://kernel/session/state[?arg]`, parsed.
    pub to: Specifier,
    /// The event as posted (its `state` is the destination's state).
    pub event: Event,
    /// For a call ([`Ctx::call_rsvp`](crate::Ctx::call_rsvp)): where the
    /// answer goes, `poe://kernel/session/state` (its kernel part may be
    /// unspecified: this kernel, as the other kernel knows it).
    pub rsvp: Option<Specifier>,
}

/// Where a target resolved to.
#[derive(Debug)]
pub(crate) enum Route {
    /// A session of this kernel, plus the state and `?arg` a specifier gave.
    Local {
        slot: u32,
        session: SessionId,
        state: Option<String>,
        arg: Option<String>,
    },
    /// Another kernel.
    Remote(Specifier),
}

/// Does this name look like a specifier rather than an alias?
fn is_specifier(name: &str) -> bool {
    name.starts_with("poe:") || name.starts_with("//")
}

impl Core {
    /// A local session by alias or id written in digits.
    pub(crate) fn lookup_name(&self, name: &str) -> Option<(u32, SessionId)> {
        self.lookup_name_by(name).map(|(slot, id, _)| (slot, id))
    }

    /// [`lookup_name`](Self::lookup_name), also saying whether the name
    /// was the session's id (true) or an alias (false).
    pub(crate) fn lookup_name_by(&self, name: &str) -> Option<(u32, SessionId, bool)> {
        if let Some(&id) = self.aliases.get(name) {
            return self.sessions.find(id).map(|slot| (slot, id, false));
        }
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            let id: SessionId = name.parse().ok()?;
            return self.sessions.find(id).map(|slot| (slot, id, true));
        }
        None
    }

    /// Resolve a target. `me` fills in a specifier without a session.
    pub(crate) fn route(
        &self,
        target: &Target<'_>,
        me: Option<SessionId>,
    ) -> Result<Route, DeliveryError> {
        let local = |(slot, session)| Route::Local {
            slot,
            session,
            state: None,
            arg: None,
        };
        match target {
            Target::Session(id) => self
                .sessions
                .find(*id)
                .map(|slot| local((slot, *id)))
                .ok_or_else(|| DeliveryError::UnknownSession(id.to_string())),
            Target::Name(name) => {
                if let Some(found) = self.lookup_name(name) {
                    return Ok(local(found));
                }
                if is_specifier(name) {
                    let spec = Specifier::parse(name)?;
                    return self.route_specifier(spec, name, me);
                }
                Err(DeliveryError::UnknownSession(name.to_string()))
            }
        }
    }

    fn route_specifier(
        &self,
        spec: Specifier,
        text: &str,
        me: Option<SessionId>,
    ) -> Result<Route, DeliveryError> {
        let is_local = match &spec.kernel {
            Part::Unspecified => true,
            Part::All => false,
            Part::Names(names) => names.iter().all(|n| self.names.is_local(n)),
        };
        if !is_local {
            return Ok(Route::Remote(spec));
        }
        let (slot, session) = match &spec.session {
            Part::Unspecified => {
                let me = me.ok_or_else(|| DeliveryError::NoCurrentSession(text.to_owned()))?;
                let slot = self
                    .sessions
                    .find(me)
                    .ok_or_else(|| DeliveryError::UnknownSession(me.to_string()))?;
                (slot, me)
            }
            Part::Names(names) if names.len() == 1 => self
                .lookup_name(&names[0])
                .ok_or_else(|| DeliveryError::UnknownSession(names[0].clone()))?,
            _ => return Err(DeliveryError::UnsupportedTarget(text.to_owned())),
        };
        Ok(Route::Local {
            slot,
            session,
            state: spec.state,
            arg: spec.arg,
        })
    }

    /// `post(to, state, args)`: the state is given; a specifier target must
    /// not name one.
    pub(crate) fn post(
        &mut self,
        me: Option<SessionId>,
        target: &Target<'_>,
        event: Event,
    ) -> Result<(), PostError> {
        match self.route(target, me) {
            Err(reason) => Err(PostError::new(event, reason)),
            Ok(Route::Local { state: Some(_), .. }) => Err(PostError::new(
                event,
                DeliveryError::StateInTarget(target_text(target)),
            )),
            Ok(Route::Local {
                slot, session, arg, ..
            }) => {
                let mut event = event;
                if let Some(arg) = arg {
                    event.args.push(Value::from(arg));
                }
                self.enqueue(slot, session, event);
                Ok(())
            }
            Ok(Route::Remote(spec)) if spec.state.is_some() => Err(PostError::new(
                event,
                DeliveryError::StateInTarget(target_text(target)),
            )),
            Ok(Route::Remote(mut spec)) => {
                spec.state = Some(event.state.to_string());
                self.forward(spec, event)
            }
        }
    }

    /// `post_to(spec, args)`: the state comes from the specifier (the
    /// event's own state is replaced).
    pub(crate) fn post_to(
        &mut self,
        me: Option<SessionId>,
        spec: &str,
        event: Event,
    ) -> Result<(), PostError> {
        match self.route(&Target::from(spec), me) {
            Err(reason) => Err(PostError::new(event, reason)),
            Ok(Route::Local {
                slot,
                session,
                state: Some(state),
                arg,
            }) => {
                let mut event = Event {
                    state: StateName::from(state),
                    ..event
                };
                if let Some(arg) = arg {
                    event.args.push(Value::from(arg));
                }
                self.enqueue(slot, session, event);
                Ok(())
            }
            Ok(Route::Remote(spec)) if spec.state.is_some() => {
                let state = StateName::from(spec.state.clone().unwrap_or_default());
                self.forward(spec, Event { state, ..event })
            }
            Ok(_) => Err(PostError::new(
                event,
                DeliveryError::MissingState(spec.to_owned()),
            )),
        }
    }

    /// Hand an event for another kernel to the forwarder.
    fn forward(&mut self, spec: Specifier, event: Event) -> Result<(), PostError> {
        self.forward_call(spec, event, None)
    }

    /// Hand an event for another kernel to the forwarder, with the RSVP of
    /// a call.
    fn forward_call(
        &mut self,
        spec: Specifier,
        event: Event,
        rsvp: Option<Specifier>,
    ) -> Result<(), PostError> {
        let forwarder = self
            .forwarder
            .and_then(|id| self.sessions.find(id).map(|slot| (slot, id)));
        let Some((slot, forwarder)) = forwarder else {
            let kernel = spec.kernel.to_string();
            return Err(PostError::new(event, DeliveryError::UnknownKernel(kernel)));
        };
        let notice = Event {
            state: StateName::from_static(FORWARD_STATE),
            args: Vec::new(),
            sender: event.sender.clone(),
            caller_state: event.caller_state.clone(),
            caller_file: event.caller_file.clone(),
            caller_line: event.caller_line,
        };
        self.remote_posts.push_back((
            forwarder,
            RemotePost {
                to: spec,
                event,
                rsvp,
            },
        ));
        self.enqueue(slot, forwarder, notice);
        Ok(())
    }

    /// `call(to, state, args)`: run the handler now and return its value.
    pub(crate) fn call(
        &mut self,
        me: Option<SessionId>,
        target: &Target<'_>,
        mut event: Event,
    ) -> Result<Value, CallError> {
        let (slot, session) = match self.route(target, me)? {
            Route::Local { state: Some(_), .. } => {
                return Err(DeliveryError::StateInTarget(target_text(target)).into());
            }
            Route::Local {
                slot, session, arg, ..
            } => {
                if let Some(arg) = arg {
                    event.args.push(Value::from(arg));
                }
                (slot, session)
            }
            Route::Remote(mut spec) => {
                spec.state = Some(event.state.to_string());
                return Err(CallError::Remote(spec.to_string()));
            }
        };
        self.call_local(slot, session, event)
    }

    /// `call_to(spec, args)`: the state comes from the specifier (the
    /// event's own state is replaced).
    pub(crate) fn call_to(
        &mut self,
        me: Option<SessionId>,
        spec: &str,
        event: Event,
    ) -> Result<Value, CallError> {
        match self.route(&Target::from(spec), me)? {
            Route::Local {
                slot,
                session,
                state: Some(state),
                arg,
            } => {
                let mut event = Event {
                    state: StateName::from(state),
                    ..event
                };
                if let Some(arg) = arg {
                    event.args.push(Value::from(arg));
                }
                self.call_local(slot, session, event)
            }
            Route::Remote(spec) if spec.state.is_some() => Err(CallError::Remote(spec.to_string())),
            _ => Err(DeliveryError::MissingState(spec.to_owned()).into()),
        }
    }

    fn call_local(
        &mut self,
        slot: u32,
        session: SessionId,
        event: Event,
    ) -> Result<Value, CallError> {
        self.dispatch(slot, session, event).map_err(|e| match e {
            DispatchError::Gone => DeliveryError::UnknownSession(session.to_string()).into(),
            DispatchError::Busy(event) => CallError::Reentrant {
                session,
                state: event.state,
            },
            DispatchError::Panicked { state, message } => CallError::Panicked {
                session,
                state,
                message,
            },
            DispatchError::Failed { state, message } => CallError::Failed {
                session,
                state,
                message,
            },
        })
    }
}

fn target_text(target: &Target<'_>) -> String {
    match target {
        Target::Session(id) => id.to_string(),
        Target::Name(name) => name.to_string(),
    }
}

impl Core {
    /// Lightspeed's call: run the state `to` names and post its value to
    /// `rsvp`. A local state runs now and a defined value is posted to the
    /// RSVP at once (SENDER: the called session); another kernel's goes to
    /// the forwarder with the RSVP.
    pub(crate) fn call_rsvp(
        &mut self,
        me: Option<SessionId>,
        mut to: Specifier,
        rsvp: Specifier,
        mut event: Event,
    ) -> Result<(), CallError> {
        let Some(state) = to.state.clone() else {
            return Err(DeliveryError::MissingState(to.to_string()).into());
        };
        event.state = StateName::from(state);
        let text = to.to_string();
        match self.route(&Target::from(text.as_str()), me)? {
            Route::Remote(_) => {
                let arg = to.arg.take();
                if let Some(arg) = arg {
                    event.args.push(Value::from(arg));
                }
                self.forward_call(to, event, Some(rsvp))
                    .map_err(|e| CallError::Delivery(e.reason))
            }
            Route::Local {
                slot, session, arg, ..
            } => {
                if let Some(arg) = arg {
                    event.args.push(Value::from(arg));
                }
                let (file, line) = (event.caller_file.clone(), event.caller_line);
                let value = self.call_local(slot, session, event)?;
                if value.is_undef() {
                    return Ok(());
                }
                let answer = Event {
                    state: StateName::from(rsvp.state.clone().unwrap_or_default()),
                    args: vec![value],
                    sender: crate::sender::Sender::Session(session),
                    caller_state: None,
                    caller_file: file,
                    caller_line: line,
                };
                self.post_to(Some(session), &rsvp.to_string(), answer)
                    .map_err(|e| CallError::Delivery(e.reason))
            }
        }
    }
}
