//! HTTP/1.1 by hand over TCP, for what a client library will not send (paths it would normalise, a body sent in
//! two halves) and to tell a complete response from a cut one.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// The status line and headers, as received.
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// An open connection on which a request is written in as many pieces as the test likes.
pub struct RawConn {
    stream: TcpStream,
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(RawConn {
            stream: TcpStream::connect(addr).await?,
        })
    }

    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads one whole response. An error if the connection ends before the response is complete.
    pub async fn read_response(mut self) -> std::io::Result<RawResponse> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(resp) = parse_complete(&buf)? {
                return Ok(resp);
            }
            let n = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut chunk))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "no complete response")
                })??;
            if n == 0 {
                // No length and no chunking: the body ends with the connection.
                return match parse_head(&buf) {
                    Some((status, head, start, Framing::UntilClose)) => Ok(RawResponse {
                        status,
                        head,
                        body: buf[start..].to_vec(),
                    }),
                    _ => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!(
                            "connection closed after {} bytes of an incomplete response",
                            buf.len()
                        ),
                    )),
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Sends `request` (bytes exactly as given) and reads the response.
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> std::io::Result<RawResponse> {
    let mut conn = RawConn::connect(addr).await?;
    conn.write(request).await?;
    conn.read_response().await
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

fn parse_head(buf: &[u8]) -> Option<(u16, String, usize, Framing)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut framing = Framing::UntilClose;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            framing = Framing::Length(value.parse().ok()?);
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            framing = Framing::Chunked;
        }
    }
    // 1xx, 204 and 304 have no body.
    if status < 200 || status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    Some((status, head, end + 4, framing))
}

fn parse_complete(buf: &[u8]) -> std::io::Result<Option<RawResponse>> {
    let Some((status, head, start, framing)) = parse_head(buf) else {
        return Ok(None);
    };
    let rest = &buf[start..];
    let body = match framing {
        Framing::Length(n) if rest.len() >= n => rest[..n].to_vec(),
        Framing::Chunked => match dechunk(rest)? {
            Some(body) => body,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(RawResponse { status, head, body }))
}

/// The body of a complete chunked message, or `None` while more is needed.
fn dechunk(mut rest: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            return Ok(rest.windows(2).any(|w| w == b"\r\n").then_some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
