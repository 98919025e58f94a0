//! AFL++: the whole open (parse, decrypt, verify).

fn main() {
    afl::fuzz!(|data: &[u8]| helpline_fuzz::open_mail(data));
}
