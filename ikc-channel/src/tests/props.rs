//! Property tests: splits anywhere, random bytes in every phase, truncated
//! frames.

use std::time::Instant;

use proptest::prelude::*;

use super::limits::{PROTOCOL_PAIRS, configs, recorded_with, sample_messages};
use super::util::{Dir, Transcript};
use crate::framing::{FrameDecoder, encode_frame_header};
use crate::{Channel, ChannelEvent};

/// Feed `stream` to `channel` cut at `cuts` (offsets, in any order).
fn feed_split(
    channel: &mut Channel,
    stream: &[u8],
    cuts: &[usize],
) -> (Vec<u8>, Vec<ChannelEvent>) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.push(0);
    cuts.push(stream.len());
    cuts.sort_unstable();
    let mut sent = Vec::new();
    let _ = channel.poll_transmit(&mut sent);
    let mut events = Vec::new();
    for pair in cuts.windows(2) {
        channel.handle_input(&stream[pair[0]..pair[1]]).unwrap();
        let _ = channel.poll_transmit(&mut sent);
        events.extend(std::iter::from_fn(|| channel.poll_event()));
    }
    (sent, events)
}

/// One side of a protocol pairing: what it received (messages included),
/// and what a fresh channel sends and reports given it in one read.
struct Scenario {
    pairing: usize,
    towards: Dir,
    input: Vec<u8>,
    sent: Vec<u8>,
    events: Vec<ChannelEvent>,
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for (i, (cp, sp)) in PROTOCOL_PAIRS.into_iter().enumerate() {
        let (c, s) = configs(cp, sp);
        let (_, pair) = recorded_with(c, s, true);
        for (towards, input) in [
            (Dir::ToServer, pair.client_sent.clone()),
            (Dir::ToClient, pair.server_sent.clone()),
        ] {
            let mut channel = channel_for(i, towards);
            let (sent, events) = feed_split(&mut channel, &input, &[]);
            let messages = events
                .iter()
                .filter(|e| matches!(e, ChannelEvent::Message(_)))
                .count();
            assert_eq!(
                messages,
                2 * sample_messages().len(),
                "{i} {towards:?}: {events:?}"
            );
            out.push(Scenario {
                pairing: i,
                towards,
                input,
                sent,
                events,
            });
        }
    }
    out
}

fn channel_for(scenario: usize, towards: Dir) -> Channel {
    let (cp, sp) = PROTOCOL_PAIRS[scenario];
    let (c, s) = configs(cp, sp);
    match towards {
        Dir::ToServer => Channel::server(s, Instant::now()).unwrap(),
        Dir::ToClient => Channel::client(c, Instant::now()).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_stream_split_anywhere_gives_the_same_answers_and_events(
        which in 0..8usize,
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let all = scenarios();
        let scenario = &all[which];
        let mut channel = channel_for(scenario.pairing, scenario.towards);
        let (sent, events) = feed_split(&mut channel, &scenario.input, &cuts);
        prop_assert_eq!(&sent, &scenario.sent);
        prop_assert_eq!(&events, &scenario.events);
    }

    #[test]
    fn random_bytes_in_any_phase_never_panic(
        which in 0..8usize,
        reads_before in 0..12usize,
        noise in proptest::collection::vec(any::<u8>(), 0..300),
        then_the_rest in any::<bool>(),
    ) {
        let all = scenarios();
        let Scenario { pairing, towards, input, .. } = &all[which];
        let mut channel = channel_for(*pairing, *towards);
        let cut = input.len() * reads_before.min(11) / 11;
        let _ = channel.handle_input(&input[..cut]);
        let _ = channel.handle_input(&noise);
        if then_the_rest {
            let _ = channel.handle_input(&input[cut..]);
        }
        let mut sent = Vec::new();
        let _ = channel.poll_transmit(&mut sent);
        // Whatever happened, answers stay bounded by the input.
        prop_assert!(sent.len() <= 8 * (input.len() + noise.len()) + 4096);
        while channel.poll_event().is_some() {}
    }

    #[test]
    fn every_prefix_of_valid_frames_needs_more_rather_than_failing(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5),
    ) {
        let mut stream = Vec::new();
        let mut ends = Vec::new();
        for payload in &payloads {
            encode_frame_header(payload.len(), &mut stream);
            stream.extend_from_slice(payload);
            ends.push(stream.len());
        }
        for prefix in 0..=stream.len() {
            let mut decoder = FrameDecoder::new(1024, false);
            let mut input = &stream[..prefix];
            let mut got = Vec::new();
            while let Some(frame) = decoder.decode(&mut input) {
                got.push(frame.unwrap().into_owned());
            }
            let complete = ends.iter().filter(|&&end| end <= prefix).count();
            prop_assert_eq!(&got[..], &payloads[..complete]);
        }
    }

    #[test]
    fn the_fuzz_entries_survive_anything(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        crate::internal::fuzz_deframer(&bytes);
        crate::internal::fuzz_channel(&bytes);
    }
}

#[test]
fn the_fuzz_entries_on_every_prefix_of_a_capture() {
    let t = Transcript::load("perl-client-ikc0-storable.log");
    let (_, frames) = t.split(Dir::ToServer);
    for prefix in 0..=frames.len() {
        crate::internal::fuzz_deframer(&frames[..prefix]);
        crate::internal::fuzz_channel(&frames[..prefix]);
    }
    let lines = Transcript::load("perl-client-perl-server-fallback.log").stream(Dir::ToServer);
    for prefix in 0..=lines.len().min(400) {
        crate::internal::fuzz_channel(&lines[..prefix]);
    }
}
