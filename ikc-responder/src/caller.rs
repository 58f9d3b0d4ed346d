//! Lightspeed's SENDER details across kernels: the `caller` a message
//! carries (who sent it, from which state, file and line), and the remote
//! SENDER a state invoked from another kernel sees.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use ikc_channel::{CallerInfo, Message};
use ikc_core::{Ctx, Event, RemoteSender, Sender, SessionId};
use ikc_specifier::HashForm;

use crate::request::PROXY_STATE;
use crate::state::{SenderKey, Shared};
use crate::thunk;

/// The `caller` of a message a local session sends: this kernel's ID, the
/// session's first alias (or its id in digits), the state it was running,
/// the file and line. `None` when no session sent it (the kernel, another
/// thread) or a remote sender is being relayed. A session posting in a
/// loop sends the same caller again: the last one made on this thread is
/// kept and shared while it is.
pub(crate) fn caller_of(
    ctx: &Ctx<'_>,
    sender: &Sender,
    state: Option<&str>,
    file: &str,
    line: u32,
) -> Option<Arc<CallerInfo>> {
    thread_local! {
        static LAST: RefCell<Option<Arc<CallerInfo>>> = const { RefCell::new(None) };
    }
    let Sender::Session(id) = sender else {
        return None;
    };
    let alias = ctx.aliases(*id).first();
    let state = state.unwrap_or_default();
    let kernel = ctx.kernel_id();
    LAST.with_borrow_mut(|last| {
        if let Some(same) = last.as_ref().filter(|c| {
            c.line == line
                && c.kernel == kernel
                && c.state == state
                && c.file == file
                && match alias {
                    Some(alias) => c.session == *alias,
                    None => displays_as(id, &c.session),
                }
        }) {
            return Some(Arc::clone(same));
        }
        let session = alias.cloned().unwrap_or_else(|| id.to_string());
        let caller = Arc::new(CallerInfo::new(kernel, session, state, file, line));
        *last = Some(Arc::clone(&caller));
        Some(caller)
    })
}

/// Does `value` print as `text`? Found without building the text.
fn displays_as(value: &impl std::fmt::Display, text: &str) -> bool {
    struct Compare<'t>(&'t str);
    impl std::fmt::Write for Compare<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match self.0.strip_prefix(s) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(())
                }
                None => Err(std::fmt::Error),
            }
        }
    }
    let mut rest = Compare(text);
    std::fmt::write(&mut rest, format_args!("{value}")).is_ok() && rest.0.is_empty()
}

/// The `caller` of a message made from `event` (a post to another kernel,
/// or an answer to a remote SENDER).
pub(crate) fn caller_of_event(ctx: &Ctx<'_>, event: &Event) -> Option<Arc<CallerInfo>> {
    caller_of(
        ctx,
        &event.sender,
        event.caller_state(),
        &event.caller_file,
        event.caller_line,
    )
}

/// Where answers to a request's sender go (the key of its thunk): IKC's
/// `from` when the request has one (as Perl sends it), or else the
/// caller's session, reached through `IKC:proxy` so that every argument
/// arrives. `None`: nobody to answer (an anonymous Perl post).
pub(crate) fn answer_to(msg: &Message) -> Option<Cow<'_, HashForm>> {
    if let Some(from) = &msg.from {
        return Some(Cow::Borrowed(from));
    }
    let caller = msg.caller.as_ref()?;
    (!caller.kernel.is_empty() && !caller.session.is_empty()).then(|| {
        Cow::Owned(HashForm::new(
            caller.kernel.as_str(),
            caller.session.as_str(),
            PROXY_STATE,
        ))
    })
}

/// The SENDER a state invoked by `msg` sees, answered for by the thunk
/// for [`answer_to`] (started if needed): see [`remote_sender`]. A request
/// from the caller of the previous one (a caller the channel shared) gets
/// the same SENDER, found without building anything.
pub(crate) fn sender_of(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &mut Message,
    came_from: &str,
) -> Arc<RemoteSender> {
    // A caller that names its kernel, and `from`, decide the SENDER; with
    // neither it is the kernel the request came from (not kept).
    let caller = msg
        .caller
        .as_ref()
        .filter(|c| !c.kernel.is_empty())
        .map(Arc::clone);
    let keep = caller.is_some() || msg.from.is_some();
    if keep {
        let kept = shared
            .borrow()
            .last_sender
            .as_ref()
            .filter(|(key, _)| key.is(caller.as_ref(), msg.from.as_ref()))
            .map(|(_, sender)| Arc::clone(sender));
        if let Some(sender) = kept.filter(|s| s.via().is_some_and(|t| ctx.session_exists(t))) {
            msg.caller = None;
            return sender;
        }
    }
    let thunk = thunk::thunk_for(shared, ctx, answer_to(msg).as_deref());
    let from = msg.from.clone();
    let sender = remote_sender(msg, came_from, thunk);
    if keep {
        let key = SenderKey { caller, from };
        shared.borrow_mut().last_sender = Some((key, Arc::clone(&sender)));
    }
    sender
}

/// The SENDER a state invoked by `msg` sees: the remote kernel and
/// session (from `caller`, which is taken out of the message, else
/// `from`, else the kernel the request came from), the remote state, file
/// and line when the sender said them, and `thunk`, the local session that
/// answers for it.
pub(crate) fn remote_sender(
    msg: &mut Message,
    came_from: &str,
    thunk: SessionId,
) -> Arc<RemoteSender> {
    let remote = match (msg.caller.take(), &msg.from) {
        (Some(caller), _) if !caller.kernel.is_empty() => {
            let mut remote = RemoteSender::new(caller.kernel.as_str(), caller.session.as_str());
            if !caller.state.is_empty() {
                remote = remote.with_state(caller.state.as_str());
            }
            if !caller.file.is_empty() || caller.line != 0 {
                remote = remote.with_location(caller.file.as_str(), caller.line);
            }
            remote
        }
        (_, Some(from)) => RemoteSender::new(from.kernel.as_str(), from.session.as_str()),
        _ => RemoteSender::new(came_from, ""),
    };
    Arc::new(remote.with_via(thunk))
}

#[cfg(test)]
mod tests {
    use ikc_freezer::Value;

    use super::*;

    #[test]
    fn a_rust_sender_says_everything_and_is_answered_through_ikc_proxy() {
        let caller = CallerInfo::new("K", "pinger", "do_stuff", "a.rs", 7);
        let mut msg = Message::post("poe://S/s/ping", Value::Undef).with_caller(caller);
        let answer = answer_to(&msg).map(Cow::into_owned);
        assert_eq!(answer, Some(HashForm::new("K", "pinger", PROXY_STATE)));
        let remote = remote_sender(&mut msg, "K", SessionId::from_raw(9));
        assert_eq!((remote.kernel(), remote.session()), ("K", "pinger"));
        assert_eq!(remote.state(), Some("do_stuff"));
        assert_eq!((remote.file(), remote.line()), (Some("a.rs"), Some(7)));
        assert_eq!(remote.via(), Some(SessionId::from_raw(9)));
    }

    #[test]
    fn a_perl_sender_has_only_from_or_nothing() {
        let from = HashForm::new("Cli", "me", PROXY_STATE);
        let mut msg = Message::post("poe://S/s/ping", Value::Undef).with_from(from.clone());
        assert_eq!(answer_to(&msg).as_deref(), Some(&from));
        let remote = remote_sender(&mut msg, "Cli-id", SessionId::from_raw(1));
        assert_eq!((remote.kernel(), remote.session()), ("Cli", "me"));
        assert_eq!(
            (remote.state(), remote.file(), remote.line()),
            (None, None, None)
        );

        let mut anonymous = Message::post("poe://S/s/ping", Value::Undef);
        assert_eq!(answer_to(&anonymous), None);
        let remote = remote_sender(&mut anonymous, "Cli-id", SessionId::from_raw(1));
        assert_eq!((remote.kernel(), remote.session()), ("Cli-id", ""));
    }
}
