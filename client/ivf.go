package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"palabre/sfu/vp8"
)

// VP8File is a VP8 video read whole from an IVF file, played in a loop by
// PublishCamera and PublishScreen.
type VP8File struct {
	Frames   [][]byte // VP8 frames, in order
	Key      []bool   // Key[i]: frame i is a keyframe
	Interval time.Duration
	Width    int
	Height   int
}

// maxIVFBytes bounds what OpenIVF reads.
const maxIVFBytes = 64 << 20

// OpenIVF reads a VP8 IVF file. It must start with a keyframe.
func OpenIVF(path string) (*VP8File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(io.LimitReader(f, maxIVFBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.FourCC != "VP80" {
		return nil, fmt.Errorf("%s: codec %q, want VP80", path, h.FourCC)
	}
	v := &VP8File{Width: int(h.Width), Height: int(h.Height), Interval: time.Second / 30}
	if h.TimebaseDenominator > 0 && h.TimebaseNumerator > 0 {
		v.Interval = time.Duration(int64(time.Second) * int64(h.TimebaseNumerator) / int64(h.TimebaseDenominator))
	}
	for {
		fr, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// The frame as the first packet of a frame would carry it: a
		// minimal payload descriptor (S=1, PID=0) before the VP8 data.
		v.Key = append(v.Key, vp8.IsKeyframe(append([]byte{0x10}, fr[:min(len(fr), 10)]...)))
		v.Frames = append(v.Frames, fr)
	}
	if len(v.Frames) == 0 || !v.Key[0] {
		return nil, fmt.Errorf("%s: no frames, or the first is not a keyframe", path)
	}
	return v, nil
}

// nextKey is the index of the first keyframe at or after i (looping).
func (v *VP8File) nextKey(i int) int {
	for k := range len(v.Frames) {
		if j := (i + k) % len(v.Frames); v.Key[j] {
			return j
		}
	}
	return 0
}
