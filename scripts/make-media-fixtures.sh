#!/usr/bin/env bash
# Makes the media fixtures of `plenum bot --media` (crates/plenum-client/fixtures): a VP8 video
# in IVF and an Opus audio in Ogg, from ffmpeg's synthetic test sources (no third-party
# content). Run once; the files are committed and embedded in the binary (include_bytes!), so
# builds and tests do not need ffmpeg. Re-running makes equivalent (not byte-identical) files.
#
# - video.ivf: VP8, testsrc2 320x240 at 15 fps, 5 s, a keyframe every 7 frames (0.47 s), about
#   150 kbit/s, one frame per IVF frame (no alt-ref frames: every frame is shown). The short
#   GOP bounds how long a new viewer waits when the server cannot ask for a keyframe at once
#   (it throttles keyframe requests to one per second per track).
# - audio.ogg: Opus, a 440 Hz sine, 48 kHz mono, 20 ms frames, 5 s, 32 kbit/s.
set -euo pipefail

cd "$(dirname "$0")/.."
out=crates/plenum-client/fixtures
mkdir -p "$out"

if ! command -v ffmpeg >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends ffmpeg
fi

seconds=5
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=320x240:rate=15:duration=${seconds}" \
    -c:v libvpx -b:v 150k -minrate 150k -maxrate 150k -g 7 -keyint_min 7 \
    -auto-alt-ref 0 -lag-in-frames 0 -deadline realtime -cpu-used 8 -error-resilient 1 \
    -pix_fmt yuv420p -f ivf "$out/video.ivf"

ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=${seconds}" \
    -c:a libopus -b:a 32k -frame_duration 20 -application voip -ac 1 \
    -f ogg "$out/audio.ogg"

ls -l "$out"
