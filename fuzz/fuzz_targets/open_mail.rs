//! libFuzzer: the whole open (parse, decrypt, verify).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| helpline_fuzz::open_mail(data));
