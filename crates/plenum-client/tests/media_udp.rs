//! [`MediaSession`] (the tokio driver) over real UDP sockets on 127.0.0.1: one client's
//! publish offer is given to another client as its subscribe offer, so A's publish connection
//! and B's subscribe connection are one peer connection (both full ICE). B must count A's
//! audio and video.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use plenum_client::TrackInfo;
use plenum_client::media::{MediaSession, Signal};
use serde_json::Value;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The m-lines of an SDP: (mid, kind).
fn mids(sdp: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut kind = None;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            kind = m.split(' ').next().map(str::to_owned);
        } else if let (Some(mid), Some(k)) = (line.strip_prefix("a=mid:"), kind.as_ref()) {
            out.push((mid.trim().to_owned(), k.clone()));
        }
    }
    out
}

fn frame(text: Option<String>) -> Value {
    let text = text.unwrap_or_else(|| panic!("a signalling frame"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn a_publish_connection_reaches_a_subscribe_connection_over_loopback_udp() {
    let mut a = MediaSession::bind(LOOPBACK, true)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut b = MediaSession::bind(LOOPBACK, true)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let (a_publish, _) = a.local_addrs();
    assert!(a_publish.ip().is_loopback());

    a.start();
    let publish = frame(a.next_signalling());
    assert_eq!(publish["type"], "publish");
    let offer = publish["sdp"].as_str().unwrap_or_default().to_owned();
    let tracks: Vec<TrackInfo> = mids(&offer)
        .into_iter()
        .map(|(mid, kind)| TrackInfo {
            mid,
            client_uuid: "client-a".to_owned(),
            kind,
        })
        .collect();
    assert_eq!(tracks.len(), 2, "{offer}");
    b.handle_signal(Signal::Subscribe {
        version: 1,
        sdp: offer,
        tracks,
    });
    let answer = frame(b.next_signalling());
    assert_eq!(answer["type"], "subscribe_answer");
    a.handle_signal(Signal::Answer {
        reference: Some(publish["ref"].clone()),
        sdp: answer["sdp"].as_str().unwrap_or_default().to_owned(),
    });

    // Both run for up to 5 s, until B has had a second of A's media.
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let enough = b.stats().from.get("client-a").is_some_and(|f| {
            f.first_video_frame
                .is_some_and(|t| t.elapsed() >= Duration::from_secs(1))
        });
        if enough {
            break;
        }
        tokio::select! {
            _ = a.drive() => {}
            _ = b.drive() => {}
            () = tokio::time::sleep_until(deadline) => {
                panic!("no media within 5 s: a {:?}, b {:?}", a.stats(), b.stats())
            }
        }
        assert!(a.next_signalling().is_none());
        assert!(b.next_signalling().is_none());
    }
    let from = b.stats().from.get("client-a").cloned().unwrap_or_default();
    assert!(b.stats().subscribe_connected.is_some());
    assert!(a.stats().publish_connected.is_some());
    let first = from.first_video_frame.unwrap_or(started);
    assert!(
        first - started < Duration::from_secs(1),
        "first video frame after {:?}",
        first - started
    );
    assert!(from.video_frames >= 12, "{from:?}");
    assert!(from.audio_frames >= 40, "{from:?}");
    assert!(from.keyframes >= 1, "{from:?}");
    assert_eq!(from.lost, 0, "{from:?}");
    assert_eq!(a.dropped_sends, 0);
}
