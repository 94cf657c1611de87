//! What the I/O layer routes a datagram from an unknown address by.

/// The ufrag a STUN binding request names as its receiver's: the USERNAME of a check sent
/// to us is `<our ufrag>:<their ufrag>` (RFC 8445 §7.2.2). `None` for anything that is not a
/// well-formed binding request with a username.
pub fn stun_ufrag(datagram: &[u8]) -> Option<&str> {
    let message = str0m::ice::StunMessage::parse(datagram).ok()?;
    if !message.is_binding_request() {
        return None;
    }
    message.username()?.split(':').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_stun_have_no_ufrag() {
        assert_eq!(stun_ufrag(b""), None);
        assert_eq!(stun_ufrag(&[0u8; 3]), None);
        assert_eq!(
            stun_ufrag(&[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]),
            None
        );
        assert_eq!(stun_ufrag(&[0xffu8; 200]), None);
    }
}
