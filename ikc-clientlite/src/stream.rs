//! What a client talks over: the [`BlockingStream`] trait, the server's
//! [`Address`], and opening a TCP or Unix connection to it.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// A byte stream to an IKC server: a [`TcpStream`], a Unix socket, or
/// anything else that reads and writes (an in-memory pipe in tests, a TLS
/// stream, a connection through a proxy), given to
/// [`Builder::connect_with`](crate::Builder::connect_with).
///
/// The client reads in two ways, and needs these two switches for them:
/// a read that waits at most until a deadline (the reply timeout), and a
/// read that does not wait at all (to see, before it writes, whether the
/// server has closed the connection or sent something).
///
/// The client only ever reads whole frames out of what it reads, so a read
/// may return any number of bytes.
pub trait BlockingStream: Read + Write {
    /// How long a blocking read may wait before it fails with
    /// [`io::ErrorKind::WouldBlock`] or [`io::ErrorKind::TimedOut`]
    /// (`None`: for ever). The client never passes a zero duration.
    ///
    /// # Errors
    ///
    /// When the timeout cannot be set.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Switch non-blocking reads on or off: when on, a read with nothing
    /// to give fails with [`io::ErrorKind::WouldBlock`] at once.
    ///
    /// # Errors
    ///
    /// When the mode cannot be changed.
    fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()>;

    /// Look, without reading and without waiting, whether input is
    /// waiting: `Ok(n)` with `n > 0` when bytes are there, `Ok(0)` when the
    /// peer closed its end, [`io::ErrorKind::WouldBlock`] when nothing is
    /// there. `None` (the default) when the stream cannot tell; the client
    /// then switches to non-blocking mode and reads instead. Sockets answer
    /// with one system call (`recv` with `MSG_PEEK | MSG_DONTWAIT`) where
    /// the switch and the read take three.
    fn peek_nonblocking(&mut self) -> Option<io::Result<usize>> {
        None
    }
}

/// `recv(MSG_PEEK | MSG_DONTWAIT)` of one byte on a socket.
#[cfg(unix)]
fn peek_socket(socket: socket2::SockRef<'_>) -> io::Result<usize> {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    socket.recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT)
}

impl BlockingStream for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // The inherent method (path lookup prefers it to this trait's).
        Self::set_read_timeout(self, timeout)
    }

    fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        Self::set_nonblocking(self, nonblocking)
    }

    #[cfg(unix)]
    fn peek_nonblocking(&mut self) -> Option<io::Result<usize>> {
        Some(peek_socket(socket2::SockRef::from(&*self)))
    }
}

#[cfg(unix)]
impl BlockingStream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }

    fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        Self::set_nonblocking(self, nonblocking)
    }

    fn peek_nonblocking(&mut self) -> Option<io::Result<usize>> {
        Some(peek_socket(socket2::SockRef::from(&*self)))
    }
}

impl<S: BlockingStream + ?Sized> BlockingStream for Box<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        (**self).set_nonblocking(nonblocking)
    }

    fn peek_nonblocking(&mut self) -> Option<io::Result<usize>> {
        (**self).peek_nonblocking()
    }
}

/// Where the IKC server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A TCP server: a host name or IP address, and a port.
    Tcp {
        /// The host as given (`localhost`, `127.0.0.1`, ...). Over IKC's
        /// old handshake the server is known by `host:port` exactly as
        /// written here, as Perl's ClientLite knows it.
        host: String,
        /// The port.
        port: u16,
    },
    /// A Unix-domain socket (Unix only).
    Unix(PathBuf),
}

impl Address {
    /// The name IKC registers for a server at this address: `host:port`,
    /// or `unix:` and the path with characters other than `-:.\w` turned
    /// into `_` (IKC::Channel's rule).
    pub fn kernel_name(&self) -> String {
        match self {
            Self::Tcp { host, port } => format!("{host}:{port}"),
            Self::Unix(path) => {
                let path: String = path
                    .to_string_lossy()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '_') {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("unix:{path}")
            }
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "{host}:{port}"),
            Self::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A boxed stream, as the client keeps it.
pub(crate) type BoxedStream = Box<dyn BlockingStream + Send>;

/// Open a connection to `address`: TCP with `TCP_NODELAY` (a request is
/// one small write; Nagle's algorithm would hold it back for the previous
/// one's acknowledgement), or a Unix socket. Writes that block longer than
/// `write_timeout` fail.
pub(crate) fn open(
    address: &Address,
    connect_timeout: Duration,
    write_timeout: Duration,
) -> io::Result<BoxedStream> {
    match address {
        Address::Tcp { host, port } => {
            let mut last = None;
            for addr in (host.as_str(), *port).to_socket_addrs()? {
                match TcpStream::connect_timeout(&addr, connect_timeout) {
                    Ok(stream) => {
                        stream.set_nodelay(true)?;
                        stream.set_write_timeout(Some(write_timeout))?;
                        return Ok(Box::new(stream));
                    }
                    Err(error) => last = Some(error),
                }
            }
            Err(last.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "the host name has no address")
            }))
        }
        Address::Unix(path) => open_unix(path, write_timeout),
    }
}

#[cfg(unix)]
fn open_unix(path: &std::path::Path, write_timeout: Duration) -> io::Result<BoxedStream> {
    let stream = std::os::unix::net::UnixStream::connect(path)?;
    stream.set_write_timeout(Some(write_timeout))?;
    Ok(Box::new(stream))
}

#[cfg(not(unix))]
fn open_unix(_path: &std::path::Path, _write_timeout: Duration) -> io::Result<BoxedStream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Unix-domain sockets are not available on this platform",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_follow_ikc() {
        let tcp = Address::Tcp {
            host: "localhost".into(),
            port: 603,
        };
        assert_eq!(tcp.kernel_name(), "localhost:603");
        assert_eq!(tcp.to_string(), "localhost:603");
        let unix = Address::Unix("/tmp/ikc sock/a+b".into());
        assert_eq!(unix.kernel_name(), "unix:_tmp_ikc_sock_a_b");
        let v6 = Address::Tcp {
            host: "::1".into(),
            port: 1,
        };
        assert_eq!(v6.to_string(), "[::1]:1");
    }

    #[test]
    fn sockets_switch_modes_through_the_trait() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let mut stream = TcpStream::connect(listener.local_addr()?)?;
        let (_server, _) = listener.accept()?;
        let stream: &mut dyn BlockingStream = &mut stream;
        stream.set_nonblocking(true)?;
        let mut buf = [0; 8];
        let err = stream.read(&mut buf).expect_err("nothing was sent");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_millis(1)))?;
        let err = stream.read(&mut buf).expect_err("nothing was sent");
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        Ok(())
    }

    /// What a peek sees: nothing, then bytes (left to read), then the close.
    #[cfg(unix)]
    fn peeks_see_nothing_then_bytes_then_the_close(
        stream: &mut dyn BlockingStream,
        mut other: impl Write,
    ) -> io::Result<()> {
        let nothing = stream.peek_nonblocking().expect("sockets can peek");
        assert_eq!(
            nothing.map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
        other.write_all(b"ab")?;
        other.flush()?;
        // Blocking read of what was peeked at: the peek took nothing.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match stream.peek_nonblocking().expect("sockets can peek") {
                Ok(n) if n > 0 => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "the bytes never came");
                    std::thread::yield_now();
                }
                other => panic!("waiting for bytes: {other:?}"),
            }
        }
        let mut buf = [0; 2];
        stream.read_exact(&mut buf)?;
        assert_eq!(&buf, b"ab");
        drop(other);
        loop {
            match stream.peek_nonblocking().expect("sockets can peek") {
                Ok(0) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "the close never came");
                    std::thread::yield_now();
                }
                other => panic!("after the close: {other:?}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn tcp_and_unix_sockets_peek_without_waiting_or_reading() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let mut stream = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        peeks_see_nothing_then_bytes_then_the_close(&mut stream, server)?;
        let (mut stream, other) = std::os::unix::net::UnixStream::pair()?;
        peeks_see_nothing_then_bytes_then_the_close(&mut stream, other)?;
        // A boxed socket peeks too; a stream that cannot says so.
        let (stream, _other) = std::os::unix::net::UnixStream::pair()?;
        let mut boxed: Box<dyn BlockingStream> = Box::new(stream);
        assert!(boxed.peek_nonblocking().is_some());
        assert!(Pipe.peek_nonblocking().is_none());
        Ok(())
    }

    /// A stream with none of the sockets' abilities.
    struct Pipe;

    impl Read for Pipe {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl BlockingStream for Pipe {
        fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
            Ok(())
        }

        fn set_nonblocking(&mut self, _: bool) -> io::Result<()> {
            Ok(())
        }
    }

    #[cfg(unix)]
    #[test]
    fn unix_sockets_switch_modes_through_the_trait() -> io::Result<()> {
        let (mut stream, _other) = std::os::unix::net::UnixStream::pair()?;
        let stream: &mut dyn BlockingStream = &mut stream;
        stream.set_nonblocking(true)?;
        let err = stream.read(&mut [0; 8]).expect_err("nothing was sent");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_millis(1)))?;
        let err = stream.read(&mut [0; 8]).expect_err("nothing was sent");
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        Ok(())
    }
}
