//! [`Relay`]: a TCP pass-through between a client and a server that
//! records what each side said, so a test can check the handshake lines
//! (the freezers offered and chosen, the protocol spoken) and capture
//! frames. It can also hold back what it passes on
//! ([`Relay::set_delay`]): a link that gets slower, as a fault injected
//! between two kernels.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one relayed connection carried.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Bytes from the client to the server.
    pub to_server: Vec<u8>,
    /// Bytes from the server to the client.
    pub to_client: Vec<u8>,
}

impl Transcript {
    /// The handshake lines of one direction, without line ends: every
    /// line before the first frame (a frame's header has a NUL byte).
    pub fn lines(bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let line = &rest[..end];
            if line.iter().any(|&b| b < 0x20 && b != b'\r') {
                break;
            }
            out.push(
                String::from_utf8_lossy(line)
                    .trim_end_matches('\r')
                    .to_owned(),
            );
            rest = &rest[end + 1..];
        }
        out
    }

    /// The frames of one direction after the handshake (IKC's framing:
    /// ASCII length, NUL, payload), each frame's payload.
    pub fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
        // Skip the handshake lines.
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if rest[..end].iter().any(|&b| b < 0x20 && b != b'\r') {
                break;
            }
            rest = &rest[end + 1..];
        }
        let mut frames = Vec::new();
        while let Some(nul) = rest.iter().position(|&b| b == 0) {
            let Some(len) = std::str::from_utf8(&rest[..nul])
                .ok()
                .and_then(|t| t.parse::<usize>().ok())
            else {
                break;
            };
            let body = &rest[nul + 1..];
            if body.len() < len {
                break;
            }
            frames.push(body[..len].to_vec());
            rest = &body[len..];
        }
        frames
    }
}

/// A relay listening on 127.0.0.1 that forwards each connection to a
/// server port and records the traffic.
#[derive(Debug)]
pub struct Relay {
    /// The port clients connect to.
    pub port: u16,
    transcripts: Arc<Mutex<Vec<Arc<Mutex<Transcript>>>>>,
    /// Microseconds each chunk read is held before it is passed on.
    delay: Arc<AtomicU64>,
}

impl Relay {
    /// Start relaying connections to `127.0.0.1:server_port`.
    ///
    /// # Errors
    ///
    /// The relay could not listen.
    pub fn start(server_port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let transcripts: Arc<Mutex<Vec<Arc<Mutex<Transcript>>>>> = Arc::default();
        let all = Arc::clone(&transcripts);
        let delay: Arc<AtomicU64> = Arc::default();
        let held = Arc::clone(&delay);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let transcript = Arc::new(Mutex::new(Transcript::default()));
                all.lock()
                    .expect("relay lock")
                    .push(Arc::clone(&transcript));
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    return;
                };
                let t1 = Arc::clone(&transcript);
                let (d1, d2) = (Arc::clone(&held), Arc::clone(&held));
                std::thread::spawn(move || pump(client, s2, &t1, true, &d1));
                std::thread::spawn(move || pump(server, c2, &transcript, false, &d2));
            }
        });
        Ok(Self {
            port,
            transcripts,
            delay,
        })
    }

    /// From now on, hold every chunk of bytes `delay` before passing it
    /// on, in both directions and on every connection (zero: pass at once).
    /// The link through the relay gets slower: its round trip grows by
    /// twice `delay`.
    pub fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.delay.store(micros, Ordering::Relaxed);
    }

    /// How many connections it relayed so far.
    pub fn connections(&self) -> usize {
        self.transcripts.lock().expect("relay lock").len()
    }

    /// A copy of connection `n`'s transcript so far.
    ///
    /// # Panics
    ///
    /// If there is no such connection.
    pub fn transcript(&self, n: usize) -> Transcript {
        let all = self.transcripts.lock().expect("relay lock");
        let t = all[n].lock().expect("transcript lock");
        Transcript {
            to_server: t.to_server.clone(),
            to_client: t.to_client.clone(),
        }
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    transcript: &Mutex<Transcript>,
    to_server: bool,
    delay: &AtomicU64,
) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut t = transcript.lock().expect("transcript lock");
            let side = if to_server {
                &mut t.to_server
            } else {
                &mut t.to_client
            };
            side.extend_from_slice(&buf[..n]);
        }
        let held = delay.load(Ordering::Relaxed);
        if held > 0 {
            // The injected fault: this link is slow now.
            std::thread::sleep(Duration::from_micros(held));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
