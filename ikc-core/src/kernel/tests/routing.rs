//! Specifier targets: local by kernel name, the forwarder, errors.

use ikc_freezer::Value;
use ikc_specifier::ParseErrorKind;

use super::{Log, drain, lines, new_log, push, show, show_args};
use crate::{CallError, DeliveryError, FORWARD_STATE, InlineStates, Kernel, Sender};

/// Aliased `name`; records `name:state:args:sender`.
fn session(name: &'static str, log: &Log) -> InlineStates {
    let log = log.clone();
    InlineStates::new()
        .state("_start", move |_, ctx, _| ctx.alias_set(name).unwrap())
        .state("_default", move |_, _, ev| {
            let args = ev.args[1].as_array().map(show_args).unwrap_or_default();
            let sender = match ev.sender {
                Sender::Kernel => "kernel".to_string(),
                Sender::Session(id) => id.to_string(),
                Sender::Remote(r) => r.specifier(),
            };
            push(
                &log,
                format!("{name}:{}:{args}:{sender}", show(&ev.args[0])),
            );
            Value::from(name)
        })
}

#[test]
fn specifiers_naming_this_kernel_are_delivered_locally() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(session("b", &log));
    assert!(k.add_name("Server"));
    let id = k.id().to_owned();
    k.post_to("poe:/b/one", vec![]).unwrap();
    k.post_to(&format!("poe://{id}/b/two"), vec![]).unwrap();
    k.post_to("poe://Server/b/three", vec![Value::from(3)])
        .unwrap();
    k.post_to("//Server/b/four", vec![]).unwrap();
    k.post("poe://Server/b", "five", vec![]).unwrap();
    k.post_to("poe:/b/six?extra", vec![Value::from(6)]).unwrap();
    drain(&mut k);
    assert_eq!(
        lines(&log),
        [
            "b:one::kernel",
            "b:two::kernel",
            "b:three:3:kernel",
            "b:four::kernel",
            "b:five::kernel",
            "b:six:6,extra:kernel"
        ]
    );
    assert_eq!(
        k.call_to("poe://Server/b/seven", vec![]).unwrap(),
        Value::from("b")
    );
    assert!(k.remove_name("Server"));
    assert!(matches!(
        k.post_to("poe://Server/b/eight", vec![])
            .unwrap_err()
            .reason,
        DeliveryError::UnknownKernel(_)
    ));
}

#[test]
fn a_specifier_without_session_means_the_current_one() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("me").unwrap();
                ctx.post_to("poe:tick", vec![]).unwrap();
            })
            .state("tick", move |_, _, _| push(&l, "ticked")),
    );
    drain(&mut k);
    assert_eq!(lines(&log), ["ticked"]);
    // From outside any session there is no current one.
    let err = k.post_to("poe:tick", vec![]).unwrap_err();
    assert_eq!(
        err.reason,
        DeliveryError::NoCurrentSession("poe:tick".into())
    );
}

#[test]
fn the_state_goes_in_exactly_one_place() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(session("b", &log));
    let err = k.post("poe:/b/state", "again", vec![]).unwrap_err();
    assert_eq!(
        err.reason,
        DeliveryError::StateInTarget("poe:/b/state".into())
    );
    assert_eq!(err.event.state, "again");
    let err = k.post_to("poe:/b", vec![Value::from(1)]).unwrap_err();
    assert_eq!(err.reason, DeliveryError::MissingState("poe:/b".into()));
    assert_eq!(err.event.args, [Value::from(1)]);
    let err = k.post_to("b", vec![]).unwrap_err();
    assert_eq!(err.reason, DeliveryError::MissingState("b".into()));
}

#[test]
fn other_kernels_need_a_forwarder() {
    let mut k = Kernel::new().unwrap();
    let err = k
        .post("poe://Elsewhere/sess", "st", vec![Value::from(1)])
        .unwrap_err();
    assert_eq!(err.reason, DeliveryError::UnknownKernel("Elsewhere".into()));
    assert_eq!(err.event.args, [Value::from(1)]);
    let err = k.post_to("poe://*/sess/st", vec![]).unwrap_err();
    assert_eq!(err.reason, DeliveryError::UnknownKernel("*".into()));
    let err = k.post_to("poe://bad!kernel/s/t", vec![]).unwrap_err();
    assert!(
        matches!(&err.reason, DeliveryError::BadSpecifier(e) if matches!(e.kind, ParseErrorKind::BadKernel(_))),
        "{err}"
    );
}

#[test]
fn the_forwarder_gets_remote_events_with_the_original_sender() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    assert!(k.add_name("Here"));
    let l = log.clone();
    let forwarder = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("IKC").unwrap();
                crate::internal::set_forwarder(ctx);
            })
            .state(FORWARD_STATE, move |_, ctx, ev| {
                assert!(ev.args.is_empty());
                let post = ctx.take_remote_post().expect("one remote post per notice");
                assert_eq!(post.event.sender, ev.sender);
                push(
                    &l,
                    format!(
                        "{},{},{}|{:?}",
                        post.to,
                        post.event.state,
                        show_args(&post.event.args),
                        ev.sender
                    ),
                );
            }),
    );
    assert_eq!(k.forwarder(), Some(forwarder));
    let poster = k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        ctx.post(
            "poe://There/sess",
            "st",
            vec![Value::from(1), Value::from(2)],
        )
        .unwrap();
        ctx.post_to("poe://*/sess/everyone", vec![]).unwrap();
        ctx.post_to("poe://Here,There/sess/mixed?7", vec![])
            .unwrap();
        let remote = ctx.call("poe://There/sess", "st", vec![]);
        assert_eq!(remote, Err(CallError::Remote("poe://There/sess/st".into())));
    }));
    drain(&mut k);
    assert_eq!(
        lines(&log),
        [
            format!("poe://There/sess/st,st,1,2|Session({poster:?})"),
            format!("poe://*/sess/everyone,everyone,|Session({poster:?})"),
            format!("poe://Here,There/sess/mixed?7,mixed,|Session({poster:?})"),
        ]
    );
    // Once the forwarder is gone, remote posts fail again.
    k.set_forwarder(None);
    assert!(k.post("poe://There/sess", "st", vec![]).is_err());
}

#[test]
fn session_ids_in_digits_are_targets() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let b = k.spawn(session("b", &log));
    k.post(b.to_string(), "by_text", vec![]).unwrap();
    k.post_to(&format!("poe:/{b}/by_spec"), vec![]).unwrap();
    drain(&mut k);
    assert_eq!(lines(&log), ["b:by_text::kernel", "b:by_spec::kernel"]);
}

#[test]
fn an_alias_that_looks_like_a_specifier_wins() {
    // IKC's proxy sessions are aliased "poe://kernel/session".
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(session("poe://Remote/thing", &log));
    k.post("poe://Remote/thing", "via_proxy", vec![]).unwrap();
    drain(&mut k);
    assert_eq!(lines(&log), ["poe://Remote/thing:via_proxy::kernel"]);
}

#[test]
fn several_local_sessions_in_a_specifier_are_refused() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(session("b", &log));
    k.spawn(session("c", &log));
    let err = k.post_to("poe:/b,c/x", vec![]).unwrap_err();
    assert_eq!(
        err.reason,
        DeliveryError::UnsupportedTarget("poe:/b,c/x".into())
    );
}
