//! [`driver`]: a session a test steers from its own thread (through a
//! [`KernelHandle`](ikc_core::KernelHandle)) to use IKC the way a session
//! does, and which notes everything that comes back to it.

use ikc_channel::Message;
use ikc_core::{Ctx, InlineStates};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Responder};

use crate::harness::Notes;

/// The monitor states of a driver: `mon_register`, `mon_error`, ...
pub fn monitor_state(op: MonitorOp) -> String {
    format!("mon_{}", op.key())
}

/// Every monitor operation, posted to the driver's `mon_<op>` states.
pub fn all_monitors(data: impl Into<Value>) -> MonitorStates {
    MonitorOp::ALL
        .iter()
        .fold(MonitorStates::new(), |m, &op| m.on(op, monitor_state(op)))
        .with_data(data)
}

fn ikc(ctx: &Ctx<'_>) -> Ikc {
    Ikc::of(ctx).expect("the kernel runs an IKC responder")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or(&[])
        .iter()
        .map(Value::to_string)
        .collect()
}

/// A session aliased `alias` that the test drives with
/// `handle.call(alias, STATE, args)`:
///
/// | state | args | does | returns |
/// |---|---|---|---|
/// | `post` | spec, params | [`Ikc::post`] | kernels reached |
/// | `call` | spec, params, rsvp state | [`Ikc::call`] | kernels reached |
/// | `send` | message hash | [`Ikc::send_message`] | kernels reached |
/// | `post_to` | spec, args... | `ctx.post_to(spec, args)` | true if accepted |
/// | `post_session` | target, state, args... | `ctx.post(target, state, args)` | true if accepted |
/// | `set_default` | kernel | [`Ikc::set_default_kernel`] | true if known |
/// | `default_kernel` | | [`Ikc::default_kernel`] | its real ID or undef |
/// | `kernels` | | [`Ikc::kernels`] | `[[id, [aliases], channel or undef], ...]` |
/// | `ikc` | state, args... | `ctx.call("IKC", state, args)` | what IKC returned |
/// | `alias_set` | alias | `ctx.alias_set(alias)` | true if set |
/// | `alias_remove` | alias | `ctx.alias_remove(alias)` | true if removed |
/// | `publish` | `[states]` | [`Ikc::publish_self`] | |
/// | `publish_api` | alias, `[states]` | [`Ikc::publish`] | |
/// | `retract_api` | alias, `[states]` or undef | [`Ikc::retract`] | true if it had published |
/// | `published_api` | alias | [`Ikc::published`] | `[states]` |
/// | `subscribe` | `[specs]`, callback | [`Ikc::subscribe`] | |
/// | `unsubscribe` | `[specs]` | [`Ikc::unsubscribe`] | |
/// | `monitor` | kernel name | monitor every operation of that kernel | |
/// | `shutdown` | | [`Ikc::shutdown`] | |
/// | `queue_and_shutdown` | target, state or undef | `ctx.post(target, state, ..)` (or `ctx.post_to(target, ..)`), then shut down, in one handler | true if queued |
/// | `post_and_shutdown` | spec, n | post `0..n` to spec, then shut down, in one handler | posts sent |
///
/// It starts the IKC responder if none runs yet, monitors `*` for every
/// operation from the start (states
/// `mon_<op>`, data `alias`), and every other event it gets (answers to
/// calls, posts from other kernels, monitor callbacks) is noted with the
/// state as label and the event's arguments. It lets go of its alias when
/// IKC shuts down, so its kernel can exit.
pub fn driver(notes: &Notes, alias: &str) -> InlineStates<()> {
    let alias = alias.to_owned();
    let notes = notes.clone();
    let start_alias = alias.clone();
    let shut_alias = alias.clone();
    let n_default = notes.clone();
    let n_shutdown = notes.clone();
    InlineStates::new()
        .state("_start", move |_, ctx, _| {
            ctx.alias_set(&start_alias)
                .expect("the driver's alias is free");
            Responder::spawn(ctx).monitor(ctx, "*", &all_monitors(start_alias.as_str()));
        })
        .state("post", |_, ctx, ev| {
            let spec = ev.args[0].to_string();
            let params = ev.args.get(1).cloned().unwrap_or_default();
            Value::from(ikc(ctx).post(ctx, &spec, params))
        })
        .state("call", |_, ctx, ev| {
            let spec = ev.args[0].to_string();
            let params = ev.args.get(1).cloned().unwrap_or_default();
            let rsvp = ev.args[2].to_string();
            Value::from(ikc(ctx).call(ctx, &spec, params, &rsvp))
        })
        .state("send", |_, ctx, ev| {
            match Message::try_from(ev.args[0].clone()) {
                Ok(msg) => Value::from(ikc(ctx).send_message(ctx, msg)),
                Err(e) => Value::from(format!("bad message: {e}")),
            }
        })
        .state("post_to", |_, ctx, mut ev| {
            let spec = ev.args.remove(0).to_string();
            Value::from(ctx.post_to(&spec, ev.args).is_ok())
        })
        .state("post_session", |_, ctx, mut ev| {
            let target = ev.args.remove(0).to_string();
            let state = ev.args.remove(0).to_string();
            Value::from(ctx.post(target.as_str(), state, ev.args).is_ok())
        })
        .state("set_default", |_, ctx, ev| {
            Value::from(ikc(ctx).set_default_kernel(&ev.args[0].to_string()).is_ok())
        })
        .state("default_kernel", |_, ctx, _| {
            ikc(ctx).default_kernel().map_or(Value::Undef, Value::from)
        })
        .state("kernels", |_, ctx, _| {
            let kernels = ikc(ctx).kernels().into_iter().map(|k| {
                Value::Array(vec![
                    Value::from(k.id),
                    Value::from(k.aliases),
                    k.channel.map_or(Value::Undef, Value::from),
                ])
            });
            Value::Array(kernels.collect())
        })
        .state("ikc", |_, ctx, mut ev| {
            let state = ev.args.remove(0).to_string();
            match ctx.call("IKC", state, ev.args) {
                Ok(v) => v,
                Err(e) => Value::from(format!("call failed: {e}")),
            }
        })
        .state("alias_set", |_, ctx, ev| {
            Value::from(ctx.alias_set(&ev.args[0].to_string()).is_ok())
        })
        .state("alias_remove", |_, ctx, ev| {
            Value::from(ctx.alias_remove(&ev.args[0].to_string()).is_ok())
        })
        .state("publish", |_, ctx, ev| {
            let states = strings(&ev.args[0]);
            Value::from(ikc(ctx).publish_self(ctx, &states).is_ok())
        })
        .state("publish_api", |_, ctx, ev| {
            ikc(ctx).publish(&ev.args[0].to_string(), &strings(&ev.args[1]));
        })
        .state("retract_api", |_, ctx, ev| {
            let states = ev.args.get(1).filter(|v| !v.is_undef()).map(strings);
            Value::from(
                ikc(ctx)
                    .retract(&ev.args[0].to_string(), states.as_deref())
                    .is_ok(),
            )
        })
        .state("published_api", |_, ctx, ev| {
            Value::from(ikc(ctx).published(&ev.args[0].to_string()))
        })
        .state("subscribe", |_, ctx, ev| {
            let specs = strings(&ev.args[0]);
            let callback = ev.args.get(1).map(Value::to_string);
            Value::from(ikc(ctx).subscribe(ctx, &specs, callback.as_deref()).is_ok())
        })
        .state("unsubscribe", |_, ctx, ev| {
            ikc(ctx).unsubscribe(ctx, &strings(&ev.args[0]));
        })
        .state("monitor", |_, ctx, ev| {
            let name = ev.args[0].to_string();
            ikc(ctx).monitor(ctx, &name, &all_monitors(name.as_str()));
        })
        .state("shutdown", |_, ctx, _| {
            ikc(ctx).shutdown(ctx);
        })
        .state("queue_and_shutdown", |_, ctx, ev| {
            // A post to a session (a proxy, say) or a Lightspeed post (queued
            // events either way), then IKC/shutdown, in one handler.
            let target = ev.args[0].to_string();
            let queued = match ev.args.get(1).filter(|v| !v.is_undef()) {
                Some(state) => ctx
                    .post(
                        target.as_str(),
                        state.to_string(),
                        vec![Value::from("via session")],
                    )
                    .is_ok(),
                None => ctx
                    .post_to(&target, vec![Value::from("via post_to")])
                    .is_ok(),
            };
            ikc(ctx).shutdown(ctx);
            Value::from(queued)
        })
        .state("post_and_shutdown", |_, ctx, ev| {
            let spec = ev.args[0].to_string();
            let times = ev.args[1].as_i64().unwrap_or(0);
            let ikc = ikc(ctx);
            let sent: usize = (0..times).map(|i| ikc.post(ctx, &spec, i)).sum();
            ikc.shutdown(ctx);
            Value::from(sent)
        })
        .state(monitor_state(MonitorOp::Shutdown), move |_, ctx, ev| {
            n_shutdown.send(monitor_state(MonitorOp::Shutdown), ev.args);
            let _ = ctx.alias_remove(&shut_alias);
        })
        .state("_default", move |_, _, ev| {
            let state = ev.args[0].to_string();
            if state.starts_with('_') {
                return;
            }
            let args = match ev.args.into_iter().nth(1) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            n_default.send(state, args);
        })
        .state("_stop", move |_, _, _| {
            notes.send("_stop", vec![Value::from(alias.as_str())])
        })
}
