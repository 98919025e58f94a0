//! What a message says: its text and its files, by media type (RFC 2045). A part that names
//! no subtype is text, OpenPGP's own control parts are not the sender's files.

use mail_parser::{Message, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::parse::Attachment;

/// `type/subtype`, lower-cased; none given, or no subtype (invalid), is `text/plain`
/// (RFC 2045, 5.2).
pub(crate) fn media_type(ct: Option<&mail_parser::ContentType<'_>>) -> String {
    match ct.and_then(|ct| ct.subtype().map(|sub| (ct.ctype(), sub))) {
        Some((ty, sub)) => format!("{ty}/{sub}").to_ascii_lowercase(),
        None => "text/plain".into(),
    }
}

/// `type/subtype` of a part, lower-cased (`text/plain` when not given).
pub(crate) fn part_type(part: &mail_parser::MessagePart<'_>) -> String {
    media_type(part.content_type())
}

/// Whether a part's `Content-Type` names no subtype (`text`, `text/`, `application`): that is
/// syntactically invalid, and RFC 2045 (5.2) reads such a part as `text/plain`, which
/// mail-parser would otherwise hand over as a nameless binary attachment.
fn untyped(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| ct.subtype().is_none())
        && !matches!(part.body, PartType::Multipart(_) | PartType::Message(_))
}

/// An untyped part's bytes as text, in the charset it names if it names one (mail-parser has
/// already decoded a part it took for text).
fn as_plain_text(part: &mail_parser::MessagePart<'_>) -> String {
    if let Some(text) = part.text_contents() {
        return text.to_owned();
    }
    let bytes = part.contents();
    part.content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|cs| mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()))
        .map(|decode| decode(bytes))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

/// The text and the attachments of a message (or of a decrypted MIME entity).
pub(crate) fn content(msg: &Message<'_>) -> (Option<String>, Vec<Attachment>) {
    let mut text = msg.body_text(0).map(|t| t.into_owned());
    for more in msg.attachments().filter_map(untyped_text) {
        text = Some(match text {
            Some(before) => format!("{before}\n\n{more}"),
            None => more,
        });
    }
    let attachments = msg.attachments().filter_map(file).collect();
    (text, attachments)
}

/// The text of a part read as `text/plain` because its type names no subtype.
pub(crate) fn untyped_text(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    untyped(part).then(|| as_plain_text(part))
}

/// A part mail-parser counts as an attachment, as the sender's file: none for OpenPGP's own
/// control parts, nor for an untyped part (that is text).
pub(crate) fn file(part: &mail_parser::MessagePart<'_>) -> Option<Attachment> {
    let media_type = part_type(part);
    if untyped(part)
        || matches!(
            media_type.as_str(),
            "application/pgp-signature" | "application/pgp-encrypted"
        )
    {
        return None;
    }
    // A file that names no type at all is bytes, whatever RFC 2045 says of a body.
    let media_type = match part.content_type() {
        Some(_) => media_type,
        None => "application/octet-stream".into(),
    };
    Some(Attachment::new(
        part.attachment_name().map(str::to_owned),
        media_type,
        part.contents().to_vec(),
    ))
}

impl Attachment {
    /// An attachment with its hash computed.
    pub fn new(filename: Option<String>, media_type: String, bytes: Vec<u8>) -> Self {
        Self {
            filename,
            media_type,
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes,
        }
    }
}
