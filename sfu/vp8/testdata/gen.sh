#!/bin/sh
# Regenerates the VP8 test vectors of package sfu/vp8. The tests read the
# committed files and never run this script: it needs ffmpeg with libvpx
# (Debian: apt-get install ffmpeg). Made with ffmpeg 5.1 / libvpx 1.12.
# libvpx in realtime mode is not deterministic: another run makes other
# (equally good) files, and the .keys and .framemd5 files go with them.
#
#   plain.ivf      320x240, 30 fps, 2 s, one temporal layer, keyframes where
#                  libvpx puts them (-g 30)
#   tl3.ivf        the same picture with 3 temporal layers, libvpx's pattern
#                  TID 0,2,1,2 (ffmpeg's ts_layering_mode=3), keyframes forced
#                  every 30 frames (a forced keyframe restarts the pattern),
#                  error resilient as libwebrtc makes temporal layers (without
#                  it a frame's entropy updates carry over to the next frame,
#                  and dropping a TL2 frame corrupts the TL0 frame after it)
#   *.keys         one line per frame: "index key_frame" as ffprobe reports it,
#                  the ground truth for keyframe detection
#   tl3.framemd5   the MD5 of every decoded frame of tl3.ivf (libvpx decoder),
#                  to compare a temporally filtered stream against
set -eu
cd "$(dirname "$0")"

common="-f lavfi -i testsrc=size=320x240:rate=30 -t 2 -c:v libvpx -b:v 200k
  -deadline realtime -cpu-used 8 -lag-in-frames 0 -threads 1"

# shellcheck disable=SC2086
ffmpeg -hide_banner -loglevel error -y $common -g 30 plain.ivf

# shellcheck disable=SC2086
ffmpeg -hide_banner -loglevel error -y $common -g 1000 \
  -error-resilient default -force_key_frames 'expr:eq(mod(n,30),0)' \
  -ts-parameters 'ts_number_layers=3:ts_target_bitrate=100,150,200:ts_layering_mode=3' \
  tl3.ivf

for f in plain tl3; do
  ffprobe -v error -select_streams v -show_entries frame=key_frame \
    -of csv=p=0 "$f.ivf" | awk '{print NR-1, $1}' >"$f.keys"
done

ffmpeg -hide_banner -loglevel error -i tl3.ivf -f framemd5 - |
  awk -F', *' '!/^#/ {print $6}' >tl3.framemd5
