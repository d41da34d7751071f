//! What every fuzz target that encodes events checks of the bytes: no
//! field can be injected, only the fields the encoder writes start lines.

/// Panics if a line of `frame` is anything but empty or a known field.
pub fn assert_only_known_fields(frame: &[u8]) {
    for line in frame.split(|&b| b == b'\n') {
        assert!(
            line.is_empty()
                || line.starts_with(b"data: ")
                || line.starts_with(b"event: ")
                || line.starts_with(b"id: ")
                || line.starts_with(b"retry: "),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}
