//! What the recorder reads from a VP8 frame (RFC 6386, 9.1): whether it is a keyframe, and
//! a keyframe's picture size (the file's PixelWidth/PixelHeight).
//!
//! A VP8 frame starts with a 3-byte frame tag, little-endian: bit 0 is the frame type (0 =
//! keyframe), then version (3 bits), show_frame (1), first partition size (19). A keyframe
//! follows with the start code `9d 01 2a` and two 16-bit little-endian fields: 14 bits of
//! width (height) and 2 bits of upscaling, which the size ignores.

/// Whether `frame` is a VP8 keyframe (an empty frame is not).
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// The width and height of a VP8 keyframe; `None` for an interframe or a malformed one.
pub fn keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if !is_keyframe(frame) || frame.len() < 10 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyframe_header_gives_its_size_and_an_interframe_none() {
        // Frame tag (key, version 0, shown), start code, 640 with scale bits set, 360.
        let key = [
            0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0xc2, 0x68, 0x01, 0, 0,
        ];
        assert!(is_keyframe(&key));
        assert_eq!(keyframe_size(&key), Some((640, 360)));
        let inter = [0x51, 0x2a, 0x00, 0, 0, 0];
        assert!(!is_keyframe(&inter));
        assert_eq!(keyframe_size(&inter), None);
        assert_eq!(keyframe_size(&key[..8]), None, "cut short");
        assert!(!is_keyframe(&[]));
    }
}
