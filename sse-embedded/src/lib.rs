//! An SSE server over smoltcp for microcontrollers (built by a later issue).
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]
