//! Cross-crate tests live in `tests/`. The workspace README is compiled
//! here so that its examples run as doctests.
#![doc = include_str!("../../README.md")]
