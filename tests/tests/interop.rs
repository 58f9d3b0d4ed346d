//! Interop with Perl's POE::Component::IKC 0.2402: Perl's server against
//! our client, and our server against Perl's ClientLite and POE client,
//! with both freezers (Storable, the Dumper freezer) and both handshakes.
//!
//! These need Perl IKC (`perl -MPOE::Component::IKC::ClientLite -e1` must
//! work: set `PERL5LIB` to its `lib`); without it each prints a SKIP line
//! and passes, as in CI. The peers are the project's scripts in
//! `tests/interop/perl/`.
//!
//! What was learnt from Perl is also pinned in tests that always run:
//! `golden_remote_error_matches_perl` replays a request captured on the
//! wire against Perl's server and checks our server's `remote_error` is
//! the one Perl sent, byte for byte; the expected outputs below are what
//! the Perl peers print against Perl's own server.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use ikc_channel::Message;
use ikc_core::{InlineStates, Kernel};
use ikc_examples::demo::{ClientOptions, run_client};
use ikc_freezer::{DUMPER, Registry, STORABLE, Value};
use ikc_responder::{IKC_ALIAS, Ikc, Protocol};
use ikc_tests::perl::{free_port, perl_command, wait_listening};
use ikc_tests::{
    Endpoint, KernelThread, Notes, Process, RawPeer, Relay, Served, Transcript, WAIT, driver,
    notes, perl_ikc_available, spawn_server,
};

/// Run the test only with Perl IKC installed; say so otherwise.
fn perl_or_skip(test: &str) -> bool {
    if perl_ikc_available() {
        return true;
    }
    println!(
        "SKIP {test}: Perl's POE::Component::IKC is not installed \
         (`perl -MPOE::Component::IKC::ClientLite -e1` fails; set PERL5LIB to its lib)"
    );
    false
}

/// What `lite.pl` prints against a server publishing `test` (the same
/// against Perl's own `server.pl`, with either freezer and handshake).
const LITE_OUTPUT: [&str; 4] = [
    "fetchQ=42",
    "add_1=43",
    r#"echo=$VAR1 = {'a' => [1,'two',"x\x{263a}y",undef],'b' => \'s','c' => -7,'d' => {'e' => []}};"#,
    "done",
];

/// What `client.pl` prints against a server `Inet` (alias `Ikc`) on
/// 127.0.0.1, with kernel IDs and the port replaced by placeholders (the
/// same against Perl's own `server.pl`).
const CLIENT_OUTPUT: [&str; 8] = [
    "monitor register * <server> 1",
    "monitor register * Inet ",
    "monitor register * Ikc ",
    "monitor register * 127.0.0.1:<port> ",
    "monitor register * localhost:<port> ",
    "reply: 1 2",
    "monitor error remote-check: Session 'test' has not published state 'nothere'.  \
     Request poe://Inet/test/nothere sent by poe://<client>/me/IKC:proxy",
    "subscribed: poe://Inet/test",
];

/// Replace `client.pl`'s kernel IDs and the port with placeholders.
fn normalize_client_output(stdout: &[String], port: u16) -> Vec<String> {
    let server = stdout
        .first()
        .and_then(|l| l.strip_prefix("monitor register * "))
        .and_then(|l| l.strip_suffix(" 1"))
        .unwrap_or("?")
        .to_owned();
    stdout
        .iter()
        .map(|line| {
            let mut line = line
                .replace(&server, "<server>")
                .replace(&port.to_string(), "<port>");
            if let Some(at) = line.find("sent by poe://") {
                let start = at + "sent by poe://".len();
                if let Some(end) = line[start..].find('/') {
                    line.replace_range(start..start + end, "<client>");
                }
            }
            line
        })
        .collect()
}

/// IKC's example session `test`, noting `here` to the test: `fetchQ`
/// (42), `add_1` (`[n, rsvp]`: posts n+1 to the RSVP), `here`, `echo`.
fn test_session(kernel: &mut Kernel, notes: &Notes) {
    let n = notes.clone();
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("test").expect("alias free");
                Ikc::of(ctx)
                    .expect("responder")
                    .publish("test", &["fetchQ", "add_1", "here", "echo"]);
            })
            .state("fetchQ", |_, _, _| Value::from(42))
            .state("add_1", |_, ctx, ev| {
                let arg = ev.args.first().cloned().unwrap_or_default();
                let n = arg.get_index(0).and_then(Value::as_i64).unwrap_or(0);
                let rsvp = arg.get_index(1).cloned().unwrap_or_default();
                let _ = ctx.post(IKC_ALIAS, "post", vec![rsvp, Value::from(n + 1)]);
            })
            .state("here", move |_, _, ev| n.send("here", ev.args))
            .state("echo", |_, _, ev| {
                ev.args.into_iter().next().unwrap_or_default()
            })
            .state("bye", |_, ctx, _| {
                let _ = ctx.alias_remove("test");
            }),
    );
}

/// Our server kernel `Inet` (alias `Ikc`), as Perl's `server.pl` is.
fn our_inet_server(notes: &Notes) -> KernelThread<Served> {
    let n = notes.clone();
    spawn_server(
        "Inet",
        &Endpoint::Tcp(0),
        |c| c.name("Inet").aliases(["Ikc"]),
        move |k| {
            k.spawn(driver(&n, "srv"));
            test_session(k, &n);
            Ok(())
        },
    )
}

fn stop(server: KernelThread<Served>) {
    server.value.handle.post("test", "bye", vec![]).unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

/// Perl's `server.pl` on a free port, with `PROTO` set; waits until it
/// listens (without connecting to it).
fn perl_server(proto: &str) -> anyhow::Result<(Process, u16)> {
    let port = free_port();
    let perl = Process::spawn(perl_command(
        "server.pl",
        &[&port.to_string()],
        &[("PROTO", proto)],
    ))?;
    wait_listening(port)?;
    Ok((perl, port))
}

fn client_options(port: u16, freezers: Option<&str>, protocol: Protocol) -> ClientOptions {
    ClientOptions {
        host: "127.0.0.1".into(),
        port,
        unix: None,
        name: "Client".into(),
        server: "Inet".into(),
        freezers: freezers.map(|s| vec![s.to_owned()]),
        protocol,
        timeout: WAIT,
    }
}

#[test]
fn perl_server_against_our_client() {
    if !perl_or_skip("perl_server_against_our_client") {
        return;
    }
    for proto in ["IKC0", "IKC"] {
        let (perl, port) = perl_server(proto).unwrap();
        for protocol in [Protocol::Ikc0, Protocol::Ikc] {
            for freezers in [None, Some(STORABLE), Some(DUMPER)] {
                run_client(&client_options(port, freezers, protocol))
                    .with_context(|| {
                        format!("Perl server PROTO={proto}, our client {freezers:?} {protocol:?}")
                    })
                    .unwrap();
                println!(
                    "interop: Perl server.pl (PROTO={proto}) <- our client ({}, {}): all 7 steps",
                    freezers.unwrap_or("default freezers"),
                    protocol.as_str()
                );
            }
        }
        if proto == "IKC0" {
            // Once more through a recording relay: what Perl's server
            // answers a post to an unpublished state, against the golden copy.
            let relay = Relay::start(port).unwrap();
            run_client(&client_options(relay.port, Some(STORABLE), Protocol::Ikc0)).unwrap();
            check_live_capture(&relay.transcript(0));
        }
        let mut perl = perl;
        let alive = perl.is_running();
        let out = perl.kill().unwrap();
        assert!(alive, "Perl's server died:\n{}", out.stderr);
    }
}

#[test]
fn our_server_against_perl_lite() {
    if !perl_or_skip("our_server_against_perl_lite") {
        return;
    }
    let (n, mut inbox) = notes();
    let server = our_inet_server(&n);
    let port = server.value.at.port().to_string();
    for freezer in [STORABLE, DUMPER] {
        for proto in ["IKC0", "IKC"] {
            let out = Process::spawn(perl_command("lite.pl", &[&port, freezer, proto], &[]))
                .unwrap()
                .wait()
                .unwrap();
            assert!(
                out.status.success(),
                "lite.pl {freezer} {proto}: {}\n{}",
                out.text(),
                out.stderr
            );
            assert_eq!(out.stdout, LITE_OUTPUT, "lite.pl {freezer} {proto}");
            assert_eq!(inbox.wait("here").args.len(), 1);
            println!(
                "interop: Perl lite.pl ({freezer}, {proto}) -> our server: {}",
                out.stdout.join(" | ")
            );
        }
    }
    stop(server);
}

#[test]
fn our_server_against_perl_client() {
    if !perl_or_skip("our_server_against_perl_client") {
        return;
    }
    // What client.pl prints against Perl's own server: the reference.
    let (perl, perl_port) = perl_server("IKC0").unwrap();
    let reference = Process::spawn(perl_command("client.pl", &[&perl_port.to_string()], &[]))
        .unwrap()
        .wait()
        .unwrap();
    drop(perl);
    assert!(reference.status.success(), "{}", reference.stderr);
    assert_eq!(
        normalize_client_output(&reference.stdout, perl_port),
        CLIENT_OUTPUT
    );

    let (n, mut inbox) = notes();
    let server = our_inet_server(&n);
    let port = server.value.at.port();
    for freezer in [STORABLE, DUMPER] {
        let out = Process::spawn(perl_command(
            "client.pl",
            &[&port.to_string(), freezer],
            &[],
        ))
        .unwrap()
        .wait()
        .unwrap();
        assert!(
            out.status.success(),
            "client.pl {freezer}: {}\n{}",
            out.text(),
            out.stderr
        );
        assert_eq!(
            normalize_client_output(&out.stdout, port),
            CLIENT_OUTPUT,
            "client.pl {freezer}:\n{}",
            out.text()
        );
        // Our server's side: the posts, the proxy post with both its
        // arguments, and the refused post seen as local-check.
        let here: Vec<_> = [inbox.wait("here"), inbox.wait("here")]
            .into_iter()
            .map(|n| n.args.iter().map(Value::to_string).collect::<Vec<_>>())
            .collect();
        assert_eq!(here, [vec!["7"], vec!["via-proxy", "second-arg"]]);
        let e = inbox.wait_for("local-check", |n| {
            n.label == "mon_error" && n.text(4) == "local-check"
        });
        assert!(
            e.text(5).starts_with(
                "Session 'test' has not published state 'nothere'.  Request poe://Inet/test/nothere sent by poe://"
            ),
            "{e:?}"
        );
        println!(
            "interop: Perl client.pl ({freezer}) -> our server:\n  {}",
            out.stdout.join("\n  ")
        );
    }
    stop(server);
}

// ---------------------------------------------------------------------
// The golden capture: Perl's server refusing a post to an unpublished
// state, as our client sent it and as Perl answered, on the wire
// (Storable frames). Captured by `perl_server_against_our_client` through
// a relay; set IKC_REGENERATE_GOLDEN=1 there to write them again.

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/perl-remote-error")
}

fn thaw(bytes: &[u8]) -> Message {
    let storable = Registry::standard().get(STORABLE).expect("Storable");
    let value = storable.thaw(bytes).expect("a Storable frame");
    Message::try_from(value).expect("an IKC message")
}

/// The request to `test/nothere` and the `remote_error` answer among
/// the frames of a transcript: (request payload, answer payload).
fn find_exchange(t: &Transcript) -> (Vec<u8>, Vec<u8>) {
    let request = Transcript::frames(&t.to_server)
        .into_iter()
        .find(|f| {
            let m = thaw(f);
            m.event
                .specifier()
                .is_ok_and(|s| s.state.as_deref() == Some("nothere"))
        })
        .expect("the post to test/nothere");
    let answer = Transcript::frames(&t.to_client)
        .into_iter()
        .find(|f| thaw(f).is_error)
        .expect("the remote_error");
    (request, answer)
}

/// The text of an error message's params, as bytes, and its other parts.
fn error_parts(m: &Message) -> (Vec<u8>, String, String) {
    let part = |i: usize| m.params.get_index(i).cloned().unwrap_or_default();
    (
        part(0).as_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
        part(1).to_string(),
        part(2).to_string(),
    )
}

fn check_live_capture(t: &Transcript) {
    let (request, answer) = find_exchange(t);
    let dir = golden_dir();
    if std::env::var_os("IKC_REGENERATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("request.storable"), &request).unwrap();
        std::fs::write(dir.join("answer.storable"), &answer).unwrap();
        println!("interop: golden capture written to {}", dir.display());
    }
    // Live, Perl says what the golden copy says (but for the client's ID).
    let live = thaw(&answer);
    let live_client = thaw(&request).from.expect("a from").kernel.clone();
    let golden = thaw(&std::fs::read(dir.join("answer.storable")).unwrap());
    let golden_client = thaw(&std::fs::read(dir.join("request.storable")).unwrap())
        .from
        .expect("a from")
        .kernel
        .clone();
    let (text, kernel, when) = error_parts(&golden);
    let text = String::from_utf8(text)
        .unwrap()
        .replace(&golden_client, &live_client);
    assert_eq!(error_parts(&live), (text.into_bytes(), kernel, when));
    println!(
        "interop: Perl's remote_error for test/nothere: {:?}",
        live.params.get_index(0).map(Value::to_string)
    );
}

/// Always runs: our server answers the request captured against Perl's
/// server exactly as Perl's server did.
#[test]
fn golden_remote_error_matches_perl() {
    let dir = golden_dir();
    let request = thaw(&std::fs::read(dir.join("request.storable")).unwrap());
    let perl = thaw(&std::fs::read(dir.join("answer.storable")).unwrap());
    let client = request
        .from
        .clone()
        .expect("the request says who sent it")
        .kernel
        .clone();

    // What Perl's server sent, pinned.
    assert!(perl.is_error);
    let expected = format!(
        "Session 'test' has not published state 'nothere'.  Request poe://Inet/test/nothere \
         sent by poe://{client}/me/IKC:proxy"
    );
    assert_eq!(
        error_parts(&perl),
        (
            expected.clone().into_bytes(),
            "Inet".to_owned(),
            "check".to_owned()
        )
    );
    let target = perl.event.specifier().unwrap();
    assert_eq!(
        (
            target.kernel.to_ikc(),
            target.session.to_ikc(),
            target.state.as_deref()
        ),
        (client.clone(), "IKC".to_owned(), Some("remote_error"))
    );

    // Ours, for the same request from a peer with the same kernel ID.
    let (n, mut inbox) = notes();
    let server = our_inet_server(&n);
    let mut peer = RawPeer::connect(&server.value.at, &client, &[STORABLE]).unwrap();
    peer.send(&request).unwrap();
    let ours = peer.recv().unwrap();
    assert_eq!(
        error_parts(&ours),
        error_parts(&perl),
        "the text, byte for byte"
    );
    assert_eq!(ours.is_error, perl.is_error);
    assert_eq!(ours.event.specifier().unwrap(), target);
    assert_eq!(
        (&ours.from, &ours.rsvp, ours.wantarray),
        (&perl.from, &perl.rsvp, perl.wantarray)
    );
    let keys = |m: &Message| -> BTreeMap<String, String> {
        m.extra
            .iter()
            .map(|(k, v)| (format!("{k:?}"), v.to_string()))
            .collect()
    };
    assert_eq!(keys(&ours), keys(&perl), "no other keys");
    // And our own monitors saw what Perl's printed as its local error.
    let e = inbox.wait_for("local-check", |n| {
        n.label == "mon_error" && n.text(4) == "local-check"
    });
    assert_eq!(e.text(5), expected);
    drop(peer);
    stop(server);
}

/// Our server with session `who` for `lite-kiface.pl`: `whoami` (published)
/// answers what it knows of its SENDER; `hidden` is not published; `secret`
/// is refused by the hook. No-publish mode on or off.
fn our_who_server(notes: &Notes, no_publish: bool) -> KernelThread<Served> {
    let n = notes.clone();
    spawn_server(
        "Inet",
        &Endpoint::Tcp(0),
        |c| c.name("Inet"),
        move |k| {
            k.spawn(driver(&n, "srv"));
            k.spawn(
                InlineStates::new()
                    .state("_start", move |_, ctx, _| {
                        ctx.alias_set("who").expect("alias free");
                        let ikc = Ikc::of(ctx).expect("responder");
                        ikc.publish("who", &["whoami"]);
                        if no_publish {
                            ikc.no_publish(|req| {
                                if req.state == "secret" {
                                    Err("secret is private".to_owned())
                                } else {
                                    Ok(())
                                }
                            });
                        }
                    })
                    .state("whoami", |_, ctx, ev| {
                        let r = ev.sender.remote().cloned().unwrap_or_default();
                        Value::from(format!(
                            "remote={} kernel={} session={} state={} file={} line={} id={}",
                            ev.sender.is_remote(),
                            r.kernel(),
                            r.session(),
                            r.state().unwrap_or("-"),
                            r.file().unwrap_or("-"),
                            r.line().map_or_else(|| "-".to_owned(), |l| l.to_string()),
                            ctx.sender_specifier(&ev.sender).unwrap_or_default(),
                        ))
                    })
                    .state("hidden", |_, _, ev| {
                        Value::from(format!("ran with {}", ev.args[0]))
                    })
                    .state("secret", |_, _, _| Value::from("should not run"))
                    .state("bye", |_, ctx, _| {
                        let _ = ctx.alias_remove("who");
                    }),
            );
            Ok(())
        },
    )
}

#[test]
fn perl_lite_against_our_kernel_in_each_publish_mode() {
    if !perl_or_skip("perl_lite_against_our_kernel_in_each_publish_mode") {
        return;
    }
    let whoami = "whoami=remote=true kernel=PerlLite session=IKCLite state=- file=- line=- \
                  id=poe://PerlLite/IKCLite";
    for (no_publish, expected) in [
        (
            false,
            [
                whoami,
                "hidden error: remote_error",
                "secret error: remote_error",
                "done",
            ],
        ),
        (
            true,
            [
                whoami,
                "hidden=ran with x",
                "secret error: remote_error",
                "done",
            ],
        ),
    ] {
        let (n, mut inbox) = notes();
        let server = our_who_server(&n, no_publish);
        let port = server.value.at.port().to_string();
        for freezer in [STORABLE, DUMPER] {
            let out = Process::spawn(perl_command("lite-kiface.pl", &[&port, freezer], &[]))
                .unwrap()
                .wait()
                .unwrap();
            assert!(out.status.success(), "{}\n{}", out.text(), out.stderr);
            assert_eq!(out.stdout, expected, "no_publish={no_publish} {freezer}");
            // Our side reported the refusals with IKC's text.
            let refused: &[&str] = if no_publish {
                &["secret"]
            } else {
                &["hidden", "secret"]
            };
            for state in refused {
                // ClientLite names our kernel by the ID it learnt.
                let text = format!(
                    "Session 'who' has not published state '{state}'.  Request \
                     poe://{}/who/{state} sent by poe://PerlLite/IKCLite",
                    server.kernel_id
                );
                inbox.wait_for(&text, |n| {
                    n.label == "mon_error" && n.text(4) == "local-check" && n.text(5) == text
                });
            }
            println!(
                "interop: Perl lite-kiface.pl ({freezer}) -> our kernel, no_publish={no_publish}: {}",
                out.stdout.join(" | ")
            );
        }
        server.value.handle.post("who", "bye", vec![]).unwrap();
        server.value.handle.call("srv", "shutdown", vec![]).unwrap();
        server.join().unwrap();
    }
}

/// Issue 14 against Perl IKC: a Rust client with a secret offers
/// authentication in a way Perl's server reads as its usual `SETUP` (no
/// warning, no refusal, no crash), and refuses that server because it
/// cannot authenticate; a Rust server requiring the secret refuses Perl's
/// ClientLite with a reason Perl prints. Perl's server serves on.
#[test]
fn authentication_and_perl_peers() {
    if !perl_or_skip("authentication_and_perl_peers") {
        return;
    }
    let (perl, port) = perl_server("IKC0").unwrap();
    let secret = ikc_channel::Secret::new("cluster secret").unwrap();
    let relay = Relay::start(port).unwrap();
    let refused = ikc_clientlite::ClientLite::builder("127.0.0.1", relay.port)
        .name("WithSecret")
        .secret(secret.clone())
        .connect()
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            ikc_clientlite::LiteError::Handshake {
                source: ikc_channel::ChannelError::Auth(
                    ikc_channel::AuthError::PeerDoesNotAuthenticate
                ),
                ..
            }
        ),
        "{refused:?}"
    );
    println!("interop: our ClientLite with a secret -> Perl server.pl: refused ({refused})");
    check_auth_capture(&relay.transcript(0));
    // The Perl server is unharmed: a plain client does all its steps.
    run_client(&client_options(port, Some(STORABLE), Protocol::Ikc0)).unwrap();
    let mut perl = perl;
    let alive = perl.is_running();
    let out = perl.kill().unwrap();
    assert!(alive, "Perl's server died:\n{}", out.stderr);
    assert!(
        !out.stderr.contains("unknown setup") && !out.stderr.contains("AUTH"),
        "Perl's server noticed the offer:\n{}",
        out.stderr
    );

    // Our server requiring the secret, against Perl's ClientLite.
    let n = notes().0;
    let server = spawn_server(
        "Inet",
        &Endpoint::Tcp(0),
        move |c| c.name("Inet").secret(secret),
        move |k| {
            k.spawn(driver(&n, "srv"));
            Ok(())
        },
    );
    let port = server.value.at.port().to_string();
    for proto in ["IKC0", "IKC"] {
        let out = Process::spawn(perl_command("lite.pl", &[&port, STORABLE, proto], &[]))
            .unwrap()
            .wait()
            .unwrap();
        assert!(!out.status.success());
        let said = format!("{}\n{}", out.text(), out.stderr);
        assert!(
            said.contains("REFUSED authentication required"),
            "lite.pl {proto}: {said}"
        );
        println!(
            "interop: Perl lite.pl ({proto}) -> our server requiring a secret: {}",
            out.stderr.trim()
        );
    }
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

// ---------------------------------------------------------------------
// The golden capture of an authentication offer: our client's SETUP with
// its AUTH field, and Perl's server answering it with its plain SETUP.
// Captured by `authentication_and_perl_peers` through a relay; set
// IKC_REGENERATE_GOLDEN=1 there to write them again.

fn auth_golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/perl-auth-offer")
}

fn check_auth_capture(t: &Transcript) {
    let offer = Transcript::lines(&t.to_server).remove(0);
    let reply = Transcript::lines(&t.to_client).remove(0);
    assert!(offer.contains(";AUTH=hmac-sha256-v1:"), "{offer}");
    assert!(
        reply.starts_with("SETUP KERNEL=") && !reply.contains("AUTH"),
        "{reply}"
    );
    let dir = auth_golden_dir();
    if std::env::var_os("IKC_REGENERATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("offer.txt"), format!("{offer}\n")).unwrap();
        std::fs::write(dir.join("reply.txt"), format!("{reply}\n")).unwrap();
        println!("interop: golden capture written to {}", dir.display());
    }
    println!("interop: Perl's answer to an AUTH offer: {reply}");
}

/// Always runs: Perl's server answered our authentication offer with its
/// plain `SETUP` (it took the offer's trailing `PID=n` for its PID field);
/// our client with a secret refuses that answer, and our server without a
/// secret answers the same offer as Perl did (no AUTH field).
#[test]
fn golden_perl_answers_an_auth_offer_with_its_plain_setup() {
    use std::time::Instant;

    use ikc_channel::{
        AuthError, Channel, ChannelError, ClientChannelConfig, Identity, ServerChannelConfig,
    };

    let dir = auth_golden_dir();
    let reply = std::fs::read_to_string(dir.join("reply.txt")).unwrap();
    let offer = std::fs::read_to_string(dir.join("offer.txt")).unwrap();
    let mut config = ClientChannelConfig::new(Identity::new("WithSecret"), Registry::standard());
    config.secret = Some(ikc_channel::Secret::new("cluster secret").unwrap());
    let mut client = Channel::client(config, Instant::now()).unwrap();
    assert_eq!(
        client.handle_input(format!("{}\r\n", reply.trim_end()).as_bytes()),
        Err(ChannelError::Auth(AuthError::PeerDoesNotAuthenticate))
    );
    let config = ServerChannelConfig::new(
        Identity::new("Inet").with_name("Inet"),
        Registry::standard(),
    );
    let mut server = Channel::server(config, Instant::now()).unwrap();
    server
        .handle_input(format!("{}\r\n", offer.trim_end()).as_bytes())
        .unwrap();
    let mut answer = Vec::new();
    let _ = server.poll_transmit(&mut answer);
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("SETUP KERNEL=Inet,Inet;FREEZER=") && !answer.contains("AUTH"));
    assert!(server.is_negotiated());
}
