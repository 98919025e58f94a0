//! libFuzzer: MIME parsing alone.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| helpline_fuzz::parse_mail(data));
