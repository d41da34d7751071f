//! `embedded-io` and `embedded-io-async` sinks.
//!
//! Invariant: these sinks write the pieces of the one generator in
//! `encode.rs` straight to the writer (text is never copied), so their bytes
//! equal [`Event::encode`]'s. Data given as `Display` goes through a small
//! stack buffer on the async path, since formatting cannot await.

#[cfg(feature = "embedded-io-async")]
use crate::encode::{Cursor, LineSplitter, Step, Window, step};
use crate::error::WriteError;
use crate::event::Event;

#[cfg(feature = "embedded-io")]
impl Event<'_> {
    /// Writes the event to a blocking `embedded_io::Write`r (it is not
    /// flushed).
    ///
    /// # Errors
    /// [`WriteError::Io`] with the writer's error, [`WriteError::Format`] if
    /// `Display` data failed.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// sse_wire::Event::new().with_data("hi").write_to(&mut out).unwrap();
    /// assert_eq!(out, b"data: hi\n\n");
    /// ```
    pub fn write_to<W: embedded_io::Write + ?Sized>(
        &self,
        writer: &mut W,
    ) -> Result<(), WriteError<W::Error>> {
        use crate::encode::{Halt, Sink, emit};

        struct IoSink<'w, W: embedded_io::Write + ?Sized> {
            writer: &'w mut W,
            error: Option<W::Error>,
        }

        impl<W: embedded_io::Write + ?Sized> Sink for IoSink<'_, W> {
            fn put(&mut self, bytes: &[u8]) -> Result<(), Halt> {
                self.writer.write_all(bytes).map_err(|e| {
                    self.error = Some(e);
                    Halt::Full
                })
            }
        }

        let mut sink = IoSink { writer, error: None };
        match (emit(self, &mut sink), sink.error) {
            (_, Some(e)) => Err(WriteError::Io(e)),
            (Ok(()), None) => Ok(()),
            (Err(_), None) => Err(WriteError::Format),
        }
    }
}

#[cfg(feature = "embedded-io-async")]
impl Event<'_> {
    /// Writes the event to an `embedded_io_async::Write`r (it is not
    /// flushed). Data given as `Display` is formatted in 128-byte chunks,
    /// re-formatting from the start for each chunk.
    ///
    /// # Errors
    /// As [`write_to`](Self::write_to).
    ///
    /// ```
    /// # futures_lite_block_on(async {
    /// let mut out = Vec::new();
    /// sse_wire::Event::new().with_data("hi").write_to_async(&mut out).await.unwrap();
    /// assert_eq!(out, b"data: hi\n\n");
    /// # });
    /// # fn futures_lite_block_on<F: core::future::Future>(f: F) -> F::Output {
    /// #     let mut f = core::pin::pin!(f);
    /// #     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// #     loop { if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// ```
    pub async fn write_to_async<W: embedded_io_async::Write + ?Sized>(
        &self,
        writer: &mut W,
    ) -> Result<(), WriteError<W::Error>> {
        let mut cursor = Cursor::START;
        loop {
            match step(self, &mut cursor) {
                Step::Piece(piece) => writer.write_all(piece.as_bytes()).await.map_err(WriteError::Io)?,
                Step::Fmt(display) => {
                    let mut done = 0usize;
                    loop {
                        let mut chunk = [0u8; 128];
                        let mut window = Window { skip: done, out: &mut chunk, len: 0 };
                        let result = LineSplitter::run(&mut window, display);
                        let len = window.len;
                        done = done.saturating_add(len);
                        let bytes = chunk.get(..len).unwrap_or(&[]);
                        writer.write_all(bytes).await.map_err(WriteError::Io)?;
                        match result {
                            Ok(()) => break,
                            Err(crate::encode::Halt::Full) => {}
                            Err(crate::encode::Halt::Format) => return Err(WriteError::Format),
                        }
                    }
                }
                Step::Done => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use core::convert::Infallible;
    use core::fmt;
    use std::vec::Vec;

    use super::*;

    /// A writer double that takes at most one byte per call.
    #[derive(Default)]
    struct OneByte(Vec<u8>);

    impl embedded_io::ErrorType for OneByte {
        type Error = Infallible;
    }

    #[cfg(feature = "embedded-io")]
    impl embedded_io::Write for OneByte {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
            self.0.extend(buf.first());
            Ok(buf.len().min(1))
        }
        fn flush(&mut self) -> Result<(), Infallible> {
            Ok(())
        }
    }

    #[cfg(feature = "embedded-io-async")]
    impl embedded_io_async::Write for OneByte {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
            self.0.extend(buf.first());
            Ok(buf.len().min(1))
        }
        async fn flush(&mut self) -> Result<(), Infallible> {
            Ok(())
        }
    }

    struct Long;

    impl fmt::Display for Long {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (0..100).try_for_each(|i| write!(f, "{i}\r\n"))
        }
    }

    fn events<'a>(long: &'a Long) -> [Event<'a>; 3] {
        [
            Event::new().with_event("e").unwrap().with_id("1").unwrap().with_data("a\r\nb"),
            Event::new().with_comment("c").with_retry(5).with_data_fmt(long),
            Event::new(),
        ]
    }

    fn one_shot(ev: &Event<'_>) -> Vec<u8> {
        let mut buf = std::vec![0u8; ev.encoded_len()];
        ev.encode(&mut buf).unwrap();
        buf
    }

    #[cfg(feature = "embedded-io")]
    #[test]
    fn blocking_writer_gets_the_one_shot_bytes_one_byte_at_a_time() {
        for ev in events(&Long) {
            let mut w = OneByte::default();
            ev.write_to(&mut w).unwrap();
            assert_eq!(w.0, one_shot(&ev));
        }
    }

    #[cfg(feature = "embedded-io")]
    #[test]
    fn blocking_writer_error_is_reported() {
        let mut full = [0u8; 4];
        let err = Event::new().with_data("hello").write_to(&mut full.as_mut_slice()).unwrap_err();
        assert!(matches!(err, WriteError::Io(_)));
    }

    #[cfg(feature = "embedded-io-async")]
    #[test]
    fn async_writer_gets_the_one_shot_bytes_one_byte_at_a_time() {
        for ev in events(&Long) {
            let mut w = OneByte::default();
            {
                let mut fut = core::pin::pin!(ev.write_to_async(&mut w));
                let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
                let core::task::Poll::Ready(result) = fut.as_mut().poll(&mut cx) else {
                    panic!("a writer that is always ready never makes the future wait");
                };
                result.unwrap();
            }
            assert_eq!(w.0, one_shot(&ev));
        }
    }
}
