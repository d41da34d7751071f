//! An arbitrary event the encoder accepts parses back to itself; one it
//! refuses is refused for the documented reason; the resumable encoder with
//! arbitrary windows equals the one-shot encoding.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_wire::{Event, FieldError, Output, Parser, Status};

#[derive(Arbitrary, Debug)]
struct Input {
    comment: Option<String>,
    name: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
    windows: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let mut event = Event::new();
    if let Some(c) = &input.comment {
        event = event.with_comment(c);
    }
    if let Some(name) = &input.name {
        match event.with_event(name) {
            Ok(e) => event = e,
            Err(err) => {
                assert_eq!(err, FieldError::EventNameLineBreak);
                assert!(name.contains(['\r', '\n']));
                return;
            }
        }
    }
    if let Some(id) = &input.id {
        match event.with_id(id) {
            Ok(e) => event = e,
            Err(FieldError::IdLineBreak) => return assert!(id.contains(['\r', '\n'])),
            Err(FieldError::IdNul) => return assert!(id.contains('\0') && !id.contains(['\r', '\n'])),
            Err(FieldError::IdControl) => {
                let control = |c: char| c != '\t' && c.is_ascii_control();
                return assert!(id.chars().any(control) && !id.contains(['\r', '\n', '\0']));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    if let Some(ms) = input.retry {
        event = event.with_retry(ms);
    }
    if let Some(d) = &input.data {
        event = event.with_data(d);
    }

    let mut one_shot = vec![0u8; event.encoded_len()];
    assert_eq!(event.encode(&mut one_shot), Ok(one_shot.len()));

    // Any windows, including empty ones, give the same bytes.
    let mut encoder = event.encoder();
    let mut resumed = Vec::new();
    let mut sizes = input.windows.iter().map(|w| usize::from(*w % 17)).chain(std::iter::repeat(7));
    loop {
        let mut window = vec![0u8; sizes.next().unwrap_or(7)];
        let status = encoder.encode(&mut window).unwrap();
        resumed.extend_from_slice(&window[..status.written()]);
        if let Status::Complete(_) = status {
            break;
        }
        assert!(resumed.len() <= one_shot.len());
    }
    assert_eq!(resumed, one_shot);

    // Parse it back.
    let mut parser: Box<Parser<{ 1 << 16 }, 4096, 4096>> = Box::default();
    let mut events = Vec::new();
    let mut retries = Vec::new();
    parser.feed(&one_shot, |o| match o {
        Output::Event(e) => events.push((
            e.event_type().as_bytes().to_vec(),
            e.data().as_bytes().to_vec(),
            e.last_event_id().as_bytes().to_vec(),
        )),
        Output::Retry(ms) => retries.push(ms),
        Output::Skipped(why) => panic!("skipped: {why}"),
    });
    assert_eq!(retries, input.retry.into_iter().collect::<Vec<_>>());
    let id = input.id.clone().unwrap_or_default().into_bytes();
    assert_eq!(parser.last_event_id().as_bytes(), id.as_slice());
    match &input.data {
        None => assert!(events.is_empty()),
        Some(d) => {
            let ty = input.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "message".into());
            let data = d.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(events, vec![(ty.into_bytes(), data.into_bytes(), id)]);
        }
    }
});
