//! A minimal HTTP/1.1 client over one keep-alive connection, for the end-to-end tests, the
//! demo's self-check and the load generator.
//!
//! Not a general client: no TLS, no redirects, no proxies. It is here so that the tests speak
//! real HTTP over a real socket without pulling a full client stack into the workspace.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Headers larger than this are refused (the server's are small).
const HEAD_BYTES_MAX: usize = 64 * 1024;

/// Bodies larger than this are refused.
const BODY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> io::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "body is not JSON ({error}): {}",
                    String::from_utf8_lossy(&self.body)
                ),
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One connection.
#[derive(Debug)]
pub struct HttpClient {
    stream: BufReader<TcpStream>,
    host: String,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

impl HttpClient {
    /// Connects to `address`.
    pub async fn connect(address: SocketAddr) -> io::Result<HttpClient> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(HttpClient {
            stream: BufReader::new(stream),
            host: address.to_string(),
        })
    }

    /// Sends a request and reads the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        self.send(method, path, headers, body).await?;
        let (status, response_headers) = self.read_head().await?;
        let body = self.read_body(&response_headers).await?;
        Ok(HttpResponse {
            status,
            headers: response_headers,
            body,
        })
    }

    /// Sends a request and reads only the response head; read the body with
    /// [`HttpClient::read_chunk`] (for streams such as server-sent events).
    pub async fn request_streaming(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<(u16, Vec<(String, String)>)> {
        self.send(method, path, headers, None).await?;
        self.read_head().await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<()> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if let Some(body) = body {
            bytes.extend_from_slice(body);
        }
        let stream = self.stream.get_mut();
        stream.write_all(&bytes).await?;
        stream.flush().await
    }

    async fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        let read = self.stream.read_line(&mut line).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        if line.len() > HEAD_BYTES_MAX {
            return Err(invalid("header line too long"));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    async fn read_head(&mut self) -> io::Result<(u16, Vec<(String, String)>)> {
        let status_line = self.read_line().await?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        Ok((status, headers))
    }

    async fn read_body(&mut self, headers: &[(String, String)]) -> io::Result<Vec<u8>> {
        let find = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, v)| v.as_str())
        };
        if find("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            while let Some(chunk) = self.read_chunk().await? {
                body.extend_from_slice(&chunk);
                if body.len() > BODY_BYTES_MAX {
                    return Err(invalid("body too large"));
                }
            }
            return Ok(body);
        }
        let length = find("content-length")
            .map(|value| {
                value
                    .parse::<usize>()
                    .map_err(|_| invalid("bad content-length"))
            })
            .transpose()?
            .unwrap_or(0);
        if length > BODY_BYTES_MAX {
            return Err(invalid("body too large"));
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await?;
        Ok(body)
    }

    /// Reads one chunk of a chunked body; `None` at its end.
    pub async fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let size_line = self.read_line().await?;
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
        if size > BODY_BYTES_MAX {
            return Err(invalid("chunk too large"));
        }
        if size == 0 {
            // Trailers end with an empty line.
            while !self.read_line().await?.is_empty() {}
            return Ok(None);
        }
        let mut chunk = vec![0u8; size];
        self.stream.read_exact(&mut chunk).await?;
        let mut crlf = [0u8; 2];
        self.stream.read_exact(&mut crlf).await?;
        Ok(Some(chunk))
    }
}
