#!/bin/sh
# Regenerates the VP8 files of the client's tests: a moving pattern at three
# simulcast sizes (quarter, half and full: q 160x90, h 320x180, f 640x360),
# 30 frames/s, 2 s, a keyframe every 30 frames. The tests read the committed
# files and never run this script: it needs vpxenc (Debian: apt-get install
# vpx-tools). libvpx in realtime mode is not deterministic: another run
# makes other, equally good, files.
set -eu
cd "$(dirname "$0")"
enc() { # name width height kbit/s
  go run ./y4mgen "$2" "$3" 60 |
    vpxenc --quiet --codec=vp8 --ivf --rt --cpu-used=8 --lag-in-frames=0 --threads=1 \
      --kf-min-dist=30 --kf-max-dist=30 --end-usage=cbr --target-bitrate="$4" \
      --error-resilient=1 -o "$1.ivf" - 2>/dev/null
}
enc camera-q 160 90 100
enc camera-h 320 180 250
enc camera-f 640 360 400
