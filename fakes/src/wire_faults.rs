//! Faults below HTTP, one layer for every fake: a raw TCP proxy in front of a
//! fake's MockServer that cuts answers on the wire.
//!
//! wiremock's responders can only answer well-formed HTTP, so a faulted
//! answer is *marked* instead: the shared pipeline (`crate::server`) adds the
//! [`MARKER_HEADER`] to it, naming the [`WireFault`]. The proxy relays bytes
//! both ways untouched, except that it frames every response (HTTP/1.1:
//! `Content-Length`, chunked, or until close) and, for a marked one, drops the
//! marker header, sends the head with its full `Content-Length` and the first
//! half of the body, then
//!
//! - [`WireFault::ShortBody`]: closes the connection cleanly (FIN), so the
//!   body is shorter than its `Content-Length`;
//! - [`WireFault::ResetMidBody`]: resets it (RST, `SO_LINGER` 0) mid-body.
//!
//! Which requests are cut is decided by the one fault book, so the wire
//! knobs count requests exactly as every other knob does. The proxy tracks
//! requests too (only to know which responses answer `HEAD` and have no
//! body) and supports keep-alive and pipelining. It speaks HTTP/1.1 only,
//! which is what the runtime's clients use over plain `http://`.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The response header a faulted answer carries to the proxy (never past it).
pub(crate) const MARKER_HEADER: &str = "x-agency-fakes-wire-fault";

/// How the proxy cuts a marked answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireFault {
    /// Half the body, then TCP RST.
    ResetMidBody,
    /// Half the body, then a clean close: fewer bytes than `Content-Length`.
    ShortBody,
}

impl WireFault {
    pub fn marker(self) -> &'static str {
        match self {
            WireFault::ResetMidBody => "reset-mid-body",
            WireFault::ShortBody => "short-body",
        }
    }

    fn from_marker(marker: &str) -> Option<Self> {
        match marker.trim() {
            "reset-mid-body" => Some(WireFault::ResetMidBody),
            "short-body" => Some(WireFault::ShortBody),
            _ => None,
        }
    }
}

/// A running proxy: its own thread and single-threaded runtime (like
/// wiremock's servers), so it serves whatever the caller's runtime does.
/// Dropping it stops accepting and closes every relayed connection.
pub(crate) struct WireProxy {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WireProxy {
    /// Relays connections accepted on `listener` to `upstream`.
    pub fn start(listener: std::net::TcpListener, upstream: SocketAddr) -> io::Result<Self> {
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("wire-fault-proxy-{}", address.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread tokio runtime builds");
                runtime.block_on(async move {
                    let listener =
                        TcpListener::from_std(listener).expect("a bound listener registers");
                    tokio::select! {
                        _ = stop => {}
                        () = accept_loop(listener, upstream) => {}
                    }
                });
                // Dropping the runtime drops every connection task, closing its sockets.
            })?;
        Ok(WireProxy {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for WireProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            // A relay ends with an error whenever either side goes away; nothing to report.
            let _ = relay(client, upstream).await;
        });
    }
}

/// Relays one client connection until either side closes, or a marked answer is cut.
async fn relay(mut client: TcpStream, upstream: SocketAddr) -> io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut requests = RequestTracker::default();
    let mut responses = ResponseShaper::default();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    let mut client_open = true;
    loop {
        tokio::select! {
            read = client.read(&mut from_client), if client_open => {
                let read = read?;
                if read == 0 {
                    client_open = false;
                    server.shutdown().await?;
                    continue;
                }
                // Observed before forwarding, so a response never precedes its request.
                requests.observe(&from_client[..read], &mut responses.head_requests);
                server.write_all(&from_client[..read]).await?;
            }
            read = server.read(&mut from_server) => {
                let read = read?;
                if read == 0 {
                    client.shutdown().await?;
                    return Ok(());
                }
                let mut out = Vec::with_capacity(read);
                let cut = responses.feed(&from_server[..read], &mut out);
                client.write_all(&out).await?;
                if let Some(fault) = cut {
                    client.flush().await?;
                    return cut_connection(client, fault).await;
                }
            }
        }
    }
}

async fn cut_connection(mut client: TcpStream, fault: WireFault) -> io::Result<()> {
    match fault {
        WireFault::ShortBody => client.shutdown().await,
        WireFault::ResetMidBody => {
            // SO_LINGER 0: closing sends RST instead of FIN (and never blocks).
            client.set_zero_linger()?;
            drop(client);
            Ok(())
        }
    }
}

/// Where a message body ends.
#[derive(Debug)]
enum Body {
    /// This many bytes remain.
    Fixed(u64),
    Chunked(Chunked),
    /// Until the connection closes (a response with neither length nor chunking).
    UntilClose,
}

#[derive(Debug)]
enum Chunked {
    /// Reading a chunk-size line.
    Size(Vec<u8>),
    /// This many chunk-data bytes remain.
    Data(u64),
    /// This many bytes of the CRLF after chunk data remain.
    DataEnd(u8),
    /// Reading trailer lines after the last chunk; the line so far.
    Trailer(Vec<u8>),
}

impl Body {
    /// Consumes the body's bytes at the start of `bytes`: how many, and whether the body ended.
    fn advance(&mut self, bytes: &[u8]) -> (usize, bool) {
        match self {
            Body::Fixed(remaining) => {
                let taken = usize::try_from(*remaining).map_or(bytes.len(), |r| r.min(bytes.len()));
                *remaining -= taken as u64;
                (taken, *remaining == 0)
            }
            Body::UntilClose => (bytes.len(), false),
            Body::Chunked(state) => {
                let mut used = 0;
                while used < bytes.len() {
                    match state {
                        Chunked::Size(line) | Chunked::Trailer(line) => {
                            let byte = bytes[used];
                            used += 1;
                            line.push(byte);
                            if byte != b'\n' {
                                continue;
                            }
                            let text = String::from_utf8_lossy(line).trim().to_owned();
                            match state {
                                Chunked::Size(_) => {
                                    let size = text.split(';').next().unwrap_or("").trim();
                                    let size = u64::from_str_radix(size, 16).unwrap_or(0);
                                    *state = if size == 0 {
                                        Chunked::Trailer(Vec::new())
                                    } else {
                                        Chunked::Data(size)
                                    };
                                }
                                Chunked::Trailer(_) if text.is_empty() => return (used, true),
                                Chunked::Trailer(line) => line.clear(),
                                _ => unreachable!(),
                            }
                        }
                        Chunked::Data(remaining) => {
                            let available = bytes.len() - used;
                            let taken =
                                usize::try_from(*remaining).map_or(available, |r| r.min(available));
                            used += taken;
                            *remaining -= taken as u64;
                            if *remaining == 0 {
                                *state = Chunked::DataEnd(2);
                            }
                        }
                        Chunked::DataEnd(remaining) => {
                            used += 1;
                            *remaining -= 1;
                            if *remaining == 0 {
                                *state = Chunked::Size(Vec::new());
                            }
                        }
                    }
                }
                (used, false)
            }
        }
    }
}

/// A message head: its first line and headers (names as sent).
struct Head {
    start_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    /// Parses the head in `bytes`, if complete: the head and its length.
    fn parse(bytes: &[u8]) -> Option<(Head, usize)> {
        let end = bytes.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
        let text = String::from_utf8_lossy(&bytes[..end - 4]);
        let mut lines = text.split("\r\n");
        let start_line = lines.next().unwrap_or_default().to_owned();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        Some((
            Head {
                start_line,
                headers,
            },
            end,
        ))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|codings| codings.to_ascii_lowercase().contains("chunked"))
    }

    fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.parse().ok()
    }

    /// The head as bytes again, without header `drop`.
    fn to_bytes_without(&self, drop: &str) -> Vec<u8> {
        let mut bytes = self.start_line.clone().into_bytes();
        bytes.extend_from_slice(b"\r\n");
        for (name, value) in self
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case(drop))
        {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes
    }
}

/// Follows the request stream, noting for each request whether it is `HEAD`.
#[derive(Default)]
struct RequestTracker {
    pending: Vec<u8>,
    body: Option<Body>,
}

impl RequestTracker {
    fn observe(&mut self, bytes: &[u8], head_requests: &mut std::collections::VecDeque<bool>) {
        self.pending.extend_from_slice(bytes);
        let mut position = 0;
        loop {
            match &mut self.body {
                Some(body) => {
                    let (used, done) = body.advance(&self.pending[position..]);
                    position += used;
                    if !done {
                        break;
                    }
                    self.body = None;
                }
                None => {
                    let Some((head, length)) = Head::parse(&self.pending[position..]) else {
                        break;
                    };
                    position += length;
                    head_requests.push_back(head.start_line.starts_with("HEAD "));
                    let body = if head.is_chunked() {
                        Body::Chunked(Chunked::Size(Vec::new()))
                    } else {
                        Body::Fixed(head.content_length().unwrap_or(0))
                    };
                    if !matches!(body, Body::Fixed(0)) {
                        self.body = Some(body);
                    }
                }
            }
        }
        self.pending.drain(..position);
    }
}

/// Follows the response stream, relaying it, and cuts marked answers.
#[derive(Default)]
struct ResponseShaper {
    /// For each request not yet answered: whether it was `HEAD`.
    head_requests: std::collections::VecDeque<bool>,
    pending: Vec<u8>,
    state: Option<Relaying>,
}

enum Relaying {
    /// Relaying this body as it arrives.
    Body(Body),
    /// Holding a marked answer until its body is complete.
    Marked {
        head: Vec<u8>,
        body: Vec<u8>,
        length: usize,
        fault: WireFault,
    },
}

impl ResponseShaper {
    /// Takes bytes from the server and appends what the client gets to `out`;
    /// `Some` when a marked answer was cut and the connection must end.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Option<WireFault> {
        self.pending.extend_from_slice(bytes);
        let mut position = 0;
        let cut = loop {
            match &mut self.state {
                Some(Relaying::Body(body)) => {
                    let (used, done) = body.advance(&self.pending[position..]);
                    out.extend_from_slice(&self.pending[position..position + used]);
                    position += used;
                    if !done {
                        break None;
                    }
                    self.state = None;
                }
                Some(Relaying::Marked {
                    head,
                    body,
                    length,
                    fault,
                }) => {
                    let wanted = (*length - body.len()).min(self.pending.len() - position);
                    body.extend_from_slice(&self.pending[position..position + wanted]);
                    position += wanted;
                    if body.len() < *length {
                        break None;
                    }
                    out.extend_from_slice(head);
                    out.extend_from_slice(&body[..body.len() / 2]);
                    break Some(*fault);
                }
                None => {
                    let Some((head, length)) = Head::parse(&self.pending[position..]) else {
                        break None;
                    };
                    let raw_head = &self.pending[position..position + length];
                    position += length;
                    let status: u16 = head
                        .start_line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|status| status.parse().ok())
                        .unwrap_or(0);
                    if (100..200).contains(&status) {
                        // Interim answers have no body and answer no request yet.
                        out.extend_from_slice(raw_head);
                        continue;
                    }
                    let answers_head = self.head_requests.pop_front().unwrap_or(false);
                    let body = if answers_head || status == 204 || status == 304 {
                        Body::Fixed(0)
                    } else if head.is_chunked() {
                        Body::Chunked(Chunked::Size(Vec::new()))
                    } else {
                        head.content_length().map_or(Body::UntilClose, Body::Fixed)
                    };
                    let fault = head.header(MARKER_HEADER).and_then(WireFault::from_marker);
                    match (fault, body) {
                        (Some(fault), Body::Fixed(length)) => {
                            self.state = Some(Relaying::Marked {
                                head: head.to_bytes_without(MARKER_HEADER),
                                body: Vec::new(),
                                length: usize::try_from(length).unwrap_or(usize::MAX),
                                fault,
                            });
                        }
                        (Some(fault), _) => {
                            // wiremock always sends a length; cut a framed-otherwise answer at its head.
                            out.extend_from_slice(&head.to_bytes_without(MARKER_HEADER));
                            break Some(fault);
                        }
                        (None, Body::Fixed(0)) => out.extend_from_slice(raw_head),
                        (None, body) => {
                            out.extend_from_slice(raw_head);
                            self.state = Some(Relaying::Body(body));
                        }
                    }
                }
            }
        };
        self.pending.drain(..position);
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_end_after_the_last_chunk_and_trailers() {
        let mut body = Body::Chunked(Chunked::Size(Vec::new()));
        let wire = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next";
        let (used, done) = body.advance(wire);
        assert!(done);
        assert_eq!(&wire[used..], b"GET /next");
    }

    #[test]
    fn chunked_bodies_split_anywhere_still_end_in_the_right_place() {
        let wire = b"3\r\nabc\r\n0\r\n\r\nrest";
        for split in 1..wire.len() {
            let mut body = Body::Chunked(Chunked::Size(Vec::new()));
            let (first, done) = body.advance(&wire[..split]);
            let total = if done {
                first
            } else {
                let (second, done) = body.advance(&wire[split..]);
                assert!(done, "split at {split}");
                first + second
            };
            assert_eq!(&wire[total..], b"rest", "split at {split}");
        }
    }

    #[test]
    fn a_marked_answer_is_cut_to_half_its_body_without_the_marker() {
        let mut shaper = ResponseShaper::default();
        shaper.head_requests.push_back(false);
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n{MARKER_HEADER}: short-body\r\n\r\n0123456789"
        );
        let mut out = Vec::new();
        assert_eq!(
            shaper.feed(answer.as_bytes(), &mut out),
            Some(WireFault::ShortBody)
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n01234");
    }

    #[test]
    fn unmarked_answers_pass_untouched_and_head_answers_have_no_body() {
        let mut shaper = ResponseShaper::default();
        shaper.head_requests.extend([true, false]);
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        let mut out = Vec::new();
        assert_eq!(shaper.feed(wire, &mut out), None);
        assert_eq!(out, wire);
        assert!(shaper.state.is_none() && shaper.pending.is_empty());
    }
}
