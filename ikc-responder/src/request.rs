//! Requests from other kernels: check them (valid, published, session
//! known), invoke the state through a thunk, and answer failures with
//! `remote_error` as IKC does.

use ikc_channel::{Message, Target};
use ikc_core::{Ctx, SessionId};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, Specifier};

use crate::send::{ErrorSide, error_params, report_error, send_msg};
use crate::state::Shared;
use crate::thunk;

/// The proxy state: params are `[state, [args...]]`.
pub(crate) const PROXY_STATE: &str = "IKC:proxy";

/// What a checked request will run.
struct Invocation {
    target: SessionId,
    state: String,
    args: Vec<Value>,
}

/// Why a request was not run: IKC's message, the stage (`request`,
/// `check`, `resolve`, `invocation`) and the specifier as far as it was read.
struct Failure {
    message: String,
    when: &'static str,
}

/// Handle one request that arrived from another kernel (or from our own
/// kernel through IKC). `errors_to` is where a failure is reported: the
/// sending kernel's `IKC/remote_error`.
pub(crate) fn request(shared: &Shared, ctx: &mut Ctx<'_>, mut msg: Message, errors_to: HashForm) {
    let mut to = msg.event.specifier().ok();
    // The kernel as the requester wrote it, for the error's `kernel` field.
    let rkernel = to.as_ref().map(|t| t.kernel.to_ikc());
    let invocation = check(shared, ctx, &mut msg, to.as_mut());
    let failure = match invocation {
        Ok(inv) => {
            let thunk = thunk::thunk_for(shared, ctx, msg.from.as_ref());
            let mut args = vec![
                Value::from(inv.target),
                Value::from(inv.state),
                Value::Array(inv.args),
            ];
            if let Some(rsvp) = msg.rsvp.take() {
                args.push(thunk::hash_value(&rsvp));
                args.push(Value::Bool(msg.wantarray.unwrap_or(false)));
            }
            match ctx.call(thunk, thunk::INVOKE_STATE, args) {
                Ok(Value::Undef) => return,
                Ok(err) => Failure {
                    message: err.to_string(),
                    when: "invocation",
                },
                Err(e) => Failure {
                    message: e.to_string(),
                    when: "invocation",
                },
            }
        }
        Err(f) => f,
    };
    respond_with_error(
        shared,
        ctx,
        &msg,
        to.as_ref(),
        rkernel.as_deref(),
        &failure,
        errors_to,
    );
}

fn check(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &mut Message,
    to: Option<&mut Specifier>,
) -> Result<Invocation, Failure> {
    let Some(to) = to else {
        let text = match &msg.event {
            Target::Text(t) => t.clone(),
            Target::Hash(h) => h.ikc_name(),
        };
        return Err(Failure {
            message: format!("{text} isn't a valid specifier"),
            when: "request",
        });
    };
    let params = std::mem::take(&mut msg.params);
    let mut args = if to.state.as_deref() == Some(PROXY_STATE) {
        // IKC:proxy carries [state, [args...]] so a state gets several ARGs.
        let Value::Array(mut parts) = params else {
            return Err(Failure {
                message: "IKC:proxy request needs params [state, [args...]]".to_owned(),
                when: "request",
            });
        };
        let inner = if parts.len() > 1 {
            parts.swap_remove(1)
        } else {
            Value::Undef
        };
        let state = parts.first().and_then(Value::as_str).map(str::to_owned);
        let Some(state) = state else {
            return Err(Failure {
                message: "IKC:proxy request needs params [state, [args...]]".to_owned(),
                when: "request",
            });
        };
        to.state = Some(state);
        match inner {
            Value::Array(args) => args,
            Value::Undef => Vec::new(),
            other => vec![other],
        }
    } else {
        vec![params]
    };
    let session = to.session.to_ikc();
    let state = to.state.clone().unwrap_or_default();
    if let Err(refusal) = shared.borrow_mut().published.check(&session, &state) {
        return Err(Failure {
            message: refusal.message(),
            when: "check",
        });
    }
    if let Some(arg) = &to.arg {
        args.push(Value::from(arg.as_str()));
    }
    let target = ctx.alias_resolve(&session).or_else(|| {
        session
            .parse::<SessionId>()
            .ok()
            .filter(|id| ctx.session_exists(*id))
    });
    let Some(target) = target else {
        return Err(Failure {
            message: format!("Unknown session '{session}'"),
            when: "resolve",
        });
    };
    Ok(Invocation {
        target,
        state,
        args,
    })
}

/// Report a failed request to local monitors (`local-<when>`) and, unless
/// it was itself an error message, to the requester (`remote_error`).
fn respond_with_error(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &Message,
    to: Option<&Specifier>,
    rkernel: Option<&str>,
    failure: &Failure,
    errors_to: HashForm,
) {
    let mut text = failure.message.trim_end_matches('\n').to_owned();
    text.push_str(".  Request ");
    if let Some(to) = to {
        text.push_str(&to.ikc_name());
    }
    if let Some(from) = &msg.from {
        text.push_str(" sent by ");
        text.push_str(&from.ikc_name());
    }
    report_error(
        shared,
        ctx,
        ErrorSide::Local,
        &text,
        rkernel,
        failure.when,
        false,
    );
    // Never answer an error with an error.
    if msg.is_error {
        return;
    }
    let mut reply = Message::post(errors_to, error_params(&text, rkernel, failure.when));
    reply.is_error = true;
    send_msg(shared, ctx, reply, None);
}
