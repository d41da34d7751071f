//! A writer of event streams over any tokio `AsyncWrite`.
//!
//! Invariant: every byte it writes comes from sse-wire (the response heads
//! and the event encoder); it only adds I/O. It is shaped like
//! `embedded-io-adapters`' wrappers: `new`, `into_inner`, `inner`,
//! `inner_mut`.

use sse_wire::{Event, HeadError, KEEP_ALIVE, ResponseHead};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

/// Why a [`SseWriter`] call failed.
///
/// ```
/// let e = sse_std::WriteError::Format;
/// assert_eq!(e.to_string(), "formatting the event data failed");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// The underlying writer failed.
    Io(std::io::Error),
    /// The event's `Display` data failed to format; nothing was written.
    Format,
    /// An extra header was invalid; nothing was written.
    Head(HeadError),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "write failed: {e}"),
            Self::Format => f.write_str("formatting the event data failed"),
            Self::Head(e) => write!(f, "invalid response head: {e}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Head(e) => Some(e),
            Self::Format => None,
        }
    }
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Writes an event stream to one connection (what Kestrun's
/// `Start-KrSseResponse` and `Write-KrSseEvent` do). Each call encodes into a
/// reusable buffer and writes it whole; call [`flush`](Self::flush) when the
/// writer buffers.
///
/// ```
/// use sse_wire::Event;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut writer = sse_std::SseWriter::new(Vec::new());
/// writer.start(&[("Access-Control-Allow-Origin", "*")]).await?;
/// writer.send(&Event::new().with_event("hello")?.with_data("world")).await?;
/// writer.keep_alive().await?;
/// let bytes = writer.into_inner();
/// assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
/// assert!(bytes.ends_with(b"\r\n\r\nevent: hello\ndata: world\n\n:\n\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct SseWriter<W> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> SseWriter<W> {
    /// Wraps a writer, such as a `TcpStream`.
    ///
    /// ```
    /// let w = sse_std::SseWriter::new(Vec::<u8>::new());
    /// assert!(w.inner().is_empty());
    /// ```
    pub fn new(inner: W) -> Self {
        Self { inner, buf: Vec::new() }
    }

    /// The wrapped writer.
    ///
    /// ```
    /// let w = sse_std::SseWriter::new(Vec::<u8>::new());
    /// let v: Vec<u8> = w.into_inner();
    /// ```
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// A reference to the wrapped writer.
    ///
    /// ```
    /// let w = sse_std::SseWriter::new(Vec::<u8>::new());
    /// assert_eq!(w.inner().len(), 0);
    /// ```
    pub fn inner(&self) -> &W {
        &self.inner
    }

    /// A mutable reference to the wrapped writer.
    ///
    /// ```
    /// let mut w = sse_std::SseWriter::new(Vec::<u8>::new());
    /// w.inner_mut().push(b'x');
    /// ```
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    async fn write_head(&mut self, head: ResponseHead<'_>) -> Result<(), WriteError> {
        let len = head.encoded_len().map_err(WriteError::Head)?;
        self.buf.resize(len, 0);
        let n = head.encode(&mut self.buf).map_err(WriteError::Head)?;
        self.inner.write_all(self.buf.get(..n).unwrap_or_default()).await?;
        Ok(())
    }

    /// Writes the `200` head that starts an event stream, with `extra`
    /// headers (CORS, for example) after the standard ones.
    ///
    /// # Errors
    /// [`WriteError::Head`] for an invalid extra header, [`WriteError::Io`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut w = sse_std::SseWriter::new(Vec::new());
    /// assert!(w.start(&[("Bad\nName", "x")]).await.is_err());
    /// assert!(w.inner().is_empty());
    /// # });
    /// ```
    pub async fn start(&mut self, extra: &[(&str, &str)]) -> Result<(), WriteError> {
        self.write_head(ResponseHead::stream().with_headers(extra)).await
    }

    /// Writes the `204 No Content` head, which makes an EventSource stop
    /// reconnecting.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut w = sse_std::SseWriter::new(Vec::new());
    /// w.no_content(&[]).await.unwrap();
    /// assert!(w.inner().starts_with(b"HTTP/1.1 204 No Content\r\n"));
    /// # });
    /// ```
    pub async fn no_content(&mut self, extra: &[(&str, &str)]) -> Result<(), WriteError> {
        self.write_head(ResponseHead::no_content().with_headers(extra)).await
    }

    /// Writes one event.
    ///
    /// # Errors
    /// [`WriteError::Format`] if `Display` data fails (nothing written),
    /// [`WriteError::Io`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut w = sse_std::SseWriter::new(Vec::new());
    /// w.send(&sse_wire::Event::new().with_id("1")?.with_data("a\r\nb")).await?;
    /// assert_eq!(w.inner(), b"id: 1\ndata: a\ndata: b\n\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn send(&mut self, event: &Event<'_>) -> Result<(), WriteError> {
        self.buf.resize(event.encoded_len(), 0);
        let n = event.encode(&mut self.buf).map_err(|_| WriteError::Format)?;
        self.inner.write_all(self.buf.get(..n).unwrap_or_default()).await?;
        Ok(())
    }

    /// Writes a comment (one `: ` line per line of `text`).
    ///
    /// # Errors
    /// [`WriteError::Io`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut w = sse_std::SseWriter::new(Vec::new());
    /// w.comment("hello").await.unwrap();
    /// assert_eq!(w.inner(), b": hello\n\n");
    /// # });
    /// ```
    pub async fn comment(&mut self, text: &str) -> Result<(), WriteError> {
        self.send(&Event::new().with_comment(text)).await
    }

    /// Writes the keep-alive frame ([`sse_wire::KEEP_ALIVE`]).
    ///
    /// # Errors
    /// [`WriteError::Io`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut w = sse_std::SseWriter::new(Vec::new());
    /// w.keep_alive().await.unwrap();
    /// assert_eq!(w.inner(), b":\n\n");
    /// # });
    /// ```
    pub async fn keep_alive(&mut self) -> Result<(), WriteError> {
        self.inner.write_all(KEEP_ALIVE).await?;
        Ok(())
    }

    /// Writes already-encoded frames, such as those of a hub
    /// [`Subscriber`](crate::Subscriber).
    ///
    /// # Errors
    /// [`WriteError::Io`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut w = sse_std::SseWriter::new(Vec::new());
    /// w.send_frame(b"data: x\n\n").await.unwrap();
    /// # });
    /// ```
    pub async fn send_frame(&mut self, frame: &[u8]) -> Result<(), WriteError> {
        self.inner.write_all(frame).await?;
        Ok(())
    }

    /// Flushes the wrapped writer.
    ///
    /// # Errors
    /// [`WriteError::Io`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// sse_std::SseWriter::new(Vec::new()).flush().await.unwrap();
    /// # });
    /// ```
    pub async fn flush(&mut self) -> Result<(), WriteError> {
        self.inner.flush().await?;
        Ok(())
    }
}
