//! Checks of the client's SDP before str0m sees it: str0m answers whatever m-lines it is
//! offered, so the limits of the protocol (at most one sending audio and one sending video
//! m-line) are enforced on the text.

use str0m::change::{SdpAnswer, SdpOffer};

use crate::SignalError;

/// A publish offer that parses and sends at most one audio and one video track.
pub(crate) fn publish_offer(sdp: &str) -> Result<SdpOffer, SignalError> {
    let offer =
        SdpOffer::from_sdp_string(sdp).map_err(|e| SignalError::InvalidSdp(e.to_string()))?;
    let lines = media_lines(sdp);
    if !lines.iter().any(|m| m.port != 0 && m.kind != "application") {
        return Err(SignalError::InvalidSdp(
            "no usable audio or video m-line".into(),
        ));
    }
    let sending = |kind: &str| lines.iter().filter(|m| m.kind == kind && m.sends()).count();
    if sending("audio") > 1 || sending("video") > 1 {
        return Err(SignalError::TooManyTracks);
    }
    Ok(offer)
}

/// A WHEP offer that parses, with its audio and video m-lines' mids (the first of each
/// kind the viewer receives on); whether they can take Opus and VP8 is up to str0m's answer.
pub(crate) fn viewer_offer(sdp: &str) -> Result<(SdpOffer, String, String), SignalError> {
    let offer =
        SdpOffer::from_sdp_string(sdp).map_err(|e| SignalError::InvalidSdp(e.to_string()))?;
    let lines = media_lines(sdp);
    let receiving = |kind: &str| {
        lines
            .iter()
            .find(|m| m.kind == kind && m.receives())
            .and_then(|m| m.mid)
            .map(str::to_owned)
    };
    match (receiving("audio"), receiving("video")) {
        (Some(audio), Some(video)) => Ok((offer, audio, video)),
        _ => Err(SignalError::InvalidSdp(
            "a viewer's offer must receive audio and video (recvonly m-lines with a mid)".into(),
        )),
    }
}

/// A subscribe answer that parses.
pub(crate) fn subscribe_answer(sdp: &str) -> Result<SdpAnswer, SignalError> {
    SdpAnswer::from_sdp_string(sdp).map_err(|e| SignalError::InvalidSdp(e.to_string()))
}

#[derive(Debug)]
struct MediaLine<'a> {
    kind: &'a str,
    port: u16,
    direction: &'a str,
    mid: Option<&'a str>,
}

impl MediaLine<'_> {
    /// Whether the offerer sends on it (no direction attribute means sendrecv, RFC 3264).
    fn sends(&self) -> bool {
        self.port != 0 && matches!(self.direction, "sendonly" | "sendrecv")
    }

    /// Whether the offerer receives on it.
    fn receives(&self) -> bool {
        self.port != 0 && matches!(self.direction, "recvonly" | "sendrecv")
    }
}

fn media_lines(sdp: &str) -> Vec<MediaLine<'_>> {
    let mut lines: Vec<MediaLine<'_>> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            let mut fields = m.split_whitespace();
            let kind = fields.next().unwrap_or("");
            let port = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            lines.push(MediaLine {
                kind,
                port,
                direction: "sendrecv",
                mid: None,
            });
        } else if let (Some(a), Some(current)) = (line.strip_prefix("a="), lines.last_mut())
            && matches!(a, "sendonly" | "sendrecv" | "recvonly" | "inactive")
        {
            current.direction = a;
        } else if let (Some(mid), Some(current)) = (line.strip_prefix("a=mid:"), lines.last_mut()) {
            current.mid = Some(mid.trim());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_sending_lines() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=inactive\r\n\
                   m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        let lines = media_lines(sdp);
        assert_eq!(lines.iter().filter(|m| m.sends()).count(), 2);
    }

    #[test]
    fn a_viewer_offer_must_receive_both_kinds_on_lines_with_a_mid() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n";
        let lines = media_lines(sdp);
        let received: Vec<_> = lines
            .iter()
            .filter(|m| m.receives())
            .map(|m| (m.kind, m.mid))
            .collect();
        assert_eq!(received, [("audio", Some("0")), ("video", Some("v"))]);
        assert!(matches!(
            viewer_offer("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"),
            Err(SignalError::InvalidSdp(_))
        ));
    }
}
