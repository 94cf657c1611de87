//! H.264 for Matroska: WebRTC carries access units in Annex B form (NAL units after start
//! codes `00 00 01` / `00 00 00 01`); Matroska's `V_MPEG4/ISO/AVC` wants each NAL unit
//! after a 4-byte big-endian length (AVCC), and the SPS/PPS once in the track's
//! CodecPrivate, an AVCDecoderConfigurationRecord (ISO/IEC 14496-15, 5.3.3.1).
//!
//! The SPS is parsed (ITU-T H.264, 7.3.2.1.1, exp-Golomb) only as far as the picture size,
//! which Matroska wants in PixelWidth/PixelHeight, and the chroma format and bit depths,
//! which the avcC of a High profile carries.

/// NAL unit types the recorder looks at.
pub const NAL_IDR: u8 = 5;
pub const NAL_SPS: u8 = 7;
pub const NAL_PPS: u8 = 8;

/// The NAL units of an Annex B access unit, without their start codes (and without the
/// zero bytes that pad a NAL unit before the next start code).
pub fn nal_units(annexb: &[u8]) -> Vec<&[u8]> {
    let mut units = Vec::new();
    let mut start = None;
    let mut i = 0;
    while i + 3 <= annexb.len() {
        if annexb[i] == 0 && annexb[i + 1] == 0 && annexb[i + 2] == 1 {
            if let Some(s) = start {
                units.push(trim_zeros(&annexb[s..i]));
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        units.push(trim_zeros(&annexb[s..]));
    }
    units.retain(|u| !u.is_empty());
    units
}

fn trim_zeros(unit: &[u8]) -> &[u8] {
    let end = unit.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    &unit[..end]
}

/// The NAL unit type (the low 5 bits of its first byte).
pub fn nal_type(unit: &[u8]) -> u8 {
    unit.first().map_or(0, |b| b & 0x1f)
}

/// Whether the access unit holds an IDR slice (a keyframe).
pub fn is_keyframe(annexb: &[u8]) -> bool {
    nal_units(annexb).iter().any(|u| nal_type(u) == NAL_IDR)
}

/// An Annex B access unit as Matroska's block data: each NAL unit after its 4-byte length.
/// Access unit delimiters (type 9) are dropped; SPS/PPS repeated in band are kept.
pub fn annexb_to_avcc(annexb: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(annexb.len() + 16);
    for unit in nal_units(annexb) {
        if nal_type(unit) == 9 {
            continue;
        }
        out.extend_from_slice(&(unit.len() as u32).to_be_bytes());
        out.extend_from_slice(unit);
    }
    out
}

/// What the SPS says that the file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpsInfo {
    pub profile: u8,
    pub width: u32,
    pub height: u32,
    pub chroma_format: u32,
    pub bit_depth_luma: u32,
    pub bit_depth_chroma: u32,
}

/// The avcC record and the SPS's facts from the first SPS and PPS of a keyframe's access
/// unit; `None` when it has no SPS or PPS, or the SPS does not parse.
pub fn avcc_from_annexb_keyframe(annexb: &[u8]) -> Option<(Vec<u8>, SpsInfo)> {
    let units = nal_units(annexb);
    let sps = *units.iter().find(|u| nal_type(u) == NAL_SPS)?;
    let pps = *units.iter().find(|u| nal_type(u) == NAL_PPS)?;
    let info = parse_sps(sps)?;
    let mut avcc = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    avcc.extend_from_slice(&u16::try_from(sps.len()).ok()?.to_be_bytes());
    avcc.extend_from_slice(sps);
    avcc.push(1);
    avcc.extend_from_slice(&u16::try_from(pps.len()).ok()?.to_be_bytes());
    avcc.extend_from_slice(pps);
    if has_chroma_info(info.profile) {
        avcc.push(0xfc | info.chroma_format as u8);
        avcc.push(0xf8 | (info.bit_depth_luma - 8) as u8);
        avcc.push(0xf8 | (info.bit_depth_chroma - 8) as u8);
        avcc.push(0); // no SPS extensions
    }
    Some((avcc, info))
}

fn has_chroma_info(profile: u8) -> bool {
    matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// A bit reader over an RBSP (emulation prevention bytes removed).
struct Bits {
    data: Vec<u8>,
    pos: usize,
}

impl Bits {
    fn new(unit: &[u8]) -> Self {
        let mut data = Vec::with_capacity(unit.len());
        let mut zeros = 0;
        for &b in unit {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            data.push(b);
        }
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0, |acc, _| Some(acc << 1 | self.bit()?))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some(((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)) as u32)
    }

    fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        let magnitude = k.div_ceil(2) as i32;
        Some(if k % 2 == 1 { magnitude } else { -magnitude })
    }
}

/// Parses an SPS NAL unit (with its 1-byte header) up to the frame cropping.
pub fn parse_sps(sps: &[u8]) -> Option<SpsInfo> {
    if nal_type(sps) != NAL_SPS || sps.len() < 4 {
        return None;
    }
    let mut r = Bits::new(&sps[1..]);
    let profile = r.bits(8)? as u8;
    r.bits(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let (mut chroma_format, mut separate_planes, mut depth_luma, mut depth_chroma) = (1, 0, 8, 8);
    if has_chroma_info(profile) {
        chroma_format = r.ue()?;
        if chroma_format == 3 {
            separate_planes = r.bit()?;
        }
        depth_luma = r.ue()? + 8;
        depth_chroma = r.ue()? + 8;
        r.bit()?; // qpprime_y_zero_transform_bypass
        if r.bit()? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + r.se()? + 256) % 256;
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
                }
            }
        }
    }
    if chroma_format > 3 || depth_luma > 14 || depth_chroma > 14 {
        return None;
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            for _ in 0..cycle.min(256) {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed
    let width_mbs = r.ue()? + 1;
    let height_units = r.ue()? + 1;
    let frame_mbs_only = r.bit()?;
    if frame_mbs_only == 0 {
        r.bit()?; // mb_adaptive_frame_field
    }
    r.bit()?; // direct_8x8_inference
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if r.bit()? == 1 {
        left = r.ue()?;
        right = r.ue()?;
        top = r.ue()?;
        bottom = r.ue()?;
    }
    let chroma_array = if separate_planes == 1 {
        0
    } else {
        chroma_format
    };
    let (sub_width, sub_height) = match chroma_array {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let (crop_x, crop_y) = if chroma_array == 0 {
        (1, 2 - frame_mbs_only)
    } else {
        (sub_width, sub_height * (2 - frame_mbs_only))
    };
    let width = (width_mbs * 16).checked_sub(crop_x * (left + right))?;
    let height = ((2 - frame_mbs_only) * height_units * 16).checked_sub(crop_y * (top + bottom))?;
    (width > 0 && height > 0).then_some(SpsInfo {
        profile,
        width,
        height,
        chroma_format,
        bit_depth_luma: depth_luma,
        bit_depth_chroma: depth_chroma,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x264's SPS of a 320x240 High profile stream, and a 1920x1080 (cropped from 1088)
    /// Constrained Baseline one.
    const SPS_320X240_HIGH: &[u8] = &[
        0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60,
    ];
    const SPS_1080P_BASELINE: &[u8] = &[
        0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0, 0x08, 0x9f, 0x96, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0xc8, 0xf1, 0x83, 0x2a,
    ];

    #[test]
    fn the_sps_gives_the_picture_size() {
        let high = parse_sps(SPS_320X240_HIGH).expect("parses");
        assert_eq!((high.width, high.height, high.profile), (320, 240, 100));
        assert_eq!(high.chroma_format, 1);
        let base = parse_sps(SPS_1080P_BASELINE).expect("parses");
        assert_eq!((base.width, base.height), (1920, 1080));
        assert_eq!(parse_sps(&SPS_320X240_HIGH[..5]), None, "cut short");
    }

    #[test]
    fn annexb_becomes_length_prefixed_and_the_avcc_holds_sps_and_pps() {
        let mut au = vec![0, 0, 0, 1, 0x09, 0xf0]; // access unit delimiter
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(SPS_320X240_HIGH);
        au.extend_from_slice(&[0, 0, 1, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]);
        au.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84, 0x00]);
        assert!(is_keyframe(&au));
        let avcc = annexb_to_avcc(&au);
        let sps_len = SPS_320X240_HIGH.len();
        assert_eq!(&avcc[..4], &(sps_len as u32).to_be_bytes());
        assert_eq!(&avcc[4..4 + sps_len], SPS_320X240_HIGH);
        let rest = &avcc[4 + sps_len..];
        assert_eq!(
            rest,
            [
                0, 0, 0, 6, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0, 0, 0, 3, 0x65, 0x88, 0x84
            ]
        );
        let (record, info) = avcc_from_annexb_keyframe(&au).expect("record");
        assert_eq!(info.width, 320);
        assert_eq!(&record[..6], &[1, 0x64, 0x00, 0x0d, 0xff, 0xe1]);
        assert_eq!(record.len(), 6 + 2 + sps_len + 1 + 2 + 6 + 4);
        assert_eq!(&record[record.len() - 4..], &[0xfd, 0xf8, 0xf8, 0]);
    }
}
