//! Prints a response head and a few events to stdout, exactly as a server
//! would send them on the wire.
//!
//! ```sh
//! cargo run -p sse-wire --example stream
//! ```

use std::io::Write as _;

use sse_wire::{Event, FieldError, KEEP_ALIVE, ResponseHead};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 512];

    let n = ResponseHead::stream().encode(&mut buf)?;
    out.write_all(&buf[..n])?;

    let n = Event::new().with_retry(3000).encode(&mut buf)?;
    out.write_all(&buf[..n])?;

    for i in 0..3u32 {
        let id = i.to_string();
        let t = 20.0 + f64::from(i) / 4.0;
        let data = format_args!("{{\"t\":{t},\"rh\":{}}}", 40 + i);
        let n = Event::new().with_event("sensor")?.with_id(&id)?.with_data_fmt(&data).encode(&mut buf)?;
        out.write_all(&buf[..n])?;
    }

    out.write_all(KEEP_ALIVE)?;

    // Injection attempts are refused, not rewritten.
    let refused = Event::new().with_event("x\ndata: injected").map(|_| ());
    assert_eq!(refused, Err(FieldError::EventNameLineBreak));
    Ok(())
}
