//! AFL++: MIME parsing alone.

fn main() {
    afl::fuzz!(|data: &[u8]| helpline_fuzz::parse_mail(data));
}
