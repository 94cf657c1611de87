//! The live stream pushed to an RTMP ingest (a company portal, a video platform).
//!
//! RTMP carries H.264 and AAC only, and Plenum never transcodes: an `ffmpeg` subprocess does,
//! fed the composition as a live WebM (Opus and VP8) on its standard input. Writing to a
//! pipe can block when ffmpeg falls behind, so a thread of its own writes, fed by a bounded
//! queue that drops when full (the ingest sees a glitch; the meeting sees nothing).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use plenum_record::{ComposedWriter, Sample};

/// Samples waiting for ffmpeg before more are dropped: a few seconds of the composition.
const QUEUE: usize = 512;
/// How long ffmpeg gets to flush and close the connection after its input ends.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct RtmpPush {
    samples: Option<mpsc::SyncSender<Sample>>,
    writer: Option<std::thread::JoinHandle<()>>,
    child: Child,
}

/// Whether `ffmpeg` can be run: the RTMP push needs it.
pub(crate) fn ffmpeg_available(ffmpeg: &Path) -> bool {
    Command::new(ffmpeg)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An RTMP address ffmpeg may be given: `rtmp://` or `rtmps://` with a host, and nothing
/// ffmpeg would read as an option or another protocol.
pub(crate) fn valid_rtmp_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("rtmp://")
        .or_else(|| url.strip_prefix("rtmps://"))
    else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    !host.is_empty() && url.len() <= 2048 && url.chars().all(|c| c.is_ascii_graphic())
}

impl RtmpPush {
    /// Starts ffmpeg; the composition's audio has `opus_head`.
    pub(crate) fn start(ffmpeg: &PathBuf, url: &str, opus_head: Vec<u8>) -> std::io::Result<Self> {
        let mut child = Command::new(ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(["-f", "webm", "-i", "pipe:0"])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-tune",
                "zerolatency",
                "-pix_fmt",
                "yuv420p",
                "-g",
                "60",
            ])
            .args(["-c:a", "aac", "-b:a", "128k", "-ar", "44100"])
            .args(["-f", "flv", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("ffmpeg has no standard input"))?;
        if let Some(stderr) = child.stderr.take() {
            // What ffmpeg complains about goes to the log, a line at a time.
            std::thread::Builder::new()
                .name("rtmp-log".into())
                .spawn(move || {
                    use std::io::BufRead as _;
                    for line in std::io::BufReader::new(stderr)
                        .lines()
                        .map_while(Result::ok)
                    {
                        tracing::warn!(ffmpeg = %line, "RTMP push");
                    }
                })?;
        }
        let (samples, queue) = mpsc::sync_channel::<Sample>(QUEUE);
        let writer = std::thread::Builder::new()
            .name("rtmp-push".into())
            .spawn(move || {
                let mut out = ComposedWriter::new(std::io::BufWriter::new(stdin), opus_head);
                for sample in queue {
                    if let Err(e) = out.write(&sample) {
                        tracing::error!(error = %e, "RTMP push: ffmpeg stopped reading");
                        return;
                    }
                }
                if let Ok(Some((mut inner, _))) = out.close() {
                    let _ = inner.flush();
                }
            })?;
        Ok(Self {
            samples: Some(samples),
            writer: Some(writer),
            child,
        })
    }

    pub(crate) fn sample(&mut self, sample: &Sample) {
        if let Some(samples) = &self.samples {
            let _ = samples.try_send(sample.clone());
        }
    }

    /// Ends the input; ffmpeg flushes and leaves, or is killed after a grace period.
    pub(crate) fn stop(mut self) {
        self.samples.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rtmp_addresses_with_a_host_reach_ffmpeg() {
        assert!(valid_rtmp_url("rtmp://127.0.0.1:1935/live/key"));
        assert!(valid_rtmp_url("rtmps://live.example.com/app/stream-key"));
        for bad in [
            "http://example.com/live",
            "rtmp:///live",
            "rtmp://",
            "-i /etc/passwd",
            "file:///etc/passwd",
            "rtmp://host/live key",
            "rtmp://host/\nlive",
        ] {
            assert!(!valid_rtmp_url(bad), "{bad:?}");
        }
    }
}
