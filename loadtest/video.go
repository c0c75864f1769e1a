package loadtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"palabre/client"
)

// Video (Config.Video): every participant joins with video, each
// speaker publishes a camera in three simulcast layers from the client's
// VP8 test files for the whole run, and the listeners count what arrives
// on their camera slots.

// DefaultVideoDir holds the camera files, relative to the repository's
// root (where `palabre loadtest` is usually run from).
const DefaultVideoDir = "client/testdata"

// cameraLayerFiles are the simulcast layers' files, lowest first, as
// PublishCamera takes them.
var cameraLayerFiles = []string{"camera-q.ivf", "camera-h.ivf", "camera-f.ivf"}

// openCameraFiles reads the camera's layers from dir.
func openCameraFiles(dir string) ([]*client.VP8File, error) {
	var files []*client.VP8File
	for _, name := range cameraLayerFiles {
		f, err := client.OpenIVF(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("video: %w (--video-dir: the directory of %v)", err, cameraLayerFiles)
		}
		files = append(files, f)
	}
	return files, nil
}

// VideoResult is what the listeners received on their camera slots over
// the measurement.
type VideoResult struct {
	Cameras         int     `json:"cameras"`          // speakers publishing a camera
	ListenersSaw    int     `json:"listeners_saw"`    // listeners that received video
	PacketsReceived uint64  `json:"packets_received"` // by all listeners
	BytesReceived   uint64  `json:"bytes_received"`   // RTP payload bytes, by all listeners
	KbpsPerListener float64 `json:"kbit_s_per_listener"`
	Frames          uint64  `json:"frames"`
	Keyframes       uint64  `json:"keyframes"`
	// PictureGaps counts frames whose VP8 picture ID does not follow the
	// previous one's on the slot: frames a decoder would miss.
	PictureGaps uint64  `json:"picture_gaps"`
	LossPct     float64 `json:"loss_pct"` // sequence numbers missing on the slots
	// Layers counts the listeners' slots by the size of the last
	// keyframe they received ("640x360"): the layers the server chose.
	Layers map[string]int `json:"layers"`
}

// videoCount is what one listener received on its camera slots so far.
type videoCount struct {
	packets, bytes, frames, keyframes, pictureGaps, seqGaps uint64
}

func (a videoCount) minus(b videoCount) videoCount {
	return videoCount{a.packets - b.packets, a.bytes - b.bytes, a.frames - b.frames,
		a.keyframes - b.keyframes, a.pictureGaps - b.pictureGaps, a.seqGaps - b.seqGaps}
}

// cameraSlots lists c's camera slots' stats.
func cameraSlots(c *client.Client) []client.VideoSlotStats {
	var out []client.VideoSlotStats
	if j := c.Joined(); j != nil && j.RoomInfo != nil {
		for k := range j.RoomInfo.VideoSlots {
			out = append(out, c.VideoStats(false, k))
		}
	}
	return out
}

func countVideo(c *client.Client) videoCount {
	var n videoCount
	for _, s := range cameraSlots(c) {
		n.packets += s.Packets
		n.bytes += s.Bytes
		n.frames += s.Frames
		n.keyframes += s.Keyframes
		n.pictureGaps += s.PictureGaps
		n.seqGaps += s.SeqGaps
	}
	return n
}

// startVideo allows video in every room (its first speaker joined as the
// organizer), turns every speaker's camera on and starts publishing, then
// waits, at most 10 s, until every listener has received a keyframe. A
// room or a camera that fails is logged and left out, like a failed join;
// when every camera fails, so does the run.
func (r *run) startVideo(ctx context.Context) error {
	r.mu.Lock()
	rooms := slices.Clone(r.rooms)
	r.mu.Unlock()
	var firstErr error
	fail := func(rm *room, err error) {
		r.cfg.Logger.Warn("video: no camera", "room", rm.name, "err", err)
		if firstErr == nil {
			firstErr = fmt.Errorf("video in %s: %w", rm.name, err)
		}
	}
	for _, rm := range rooms {
		if len(rm.speakers) == 0 {
			continue
		}
		if rm.organizer == nil {
			fail(rm, errors.New("its organizer, the first speaker, did not join"))
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := rm.organizer.SetVideo(actx, true)
		cancel()
		if err != nil {
			fail(rm, fmt.Errorf("video_on: %w", err))
			continue
		}
		for _, sp := range rm.speakers {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := sp.CameraOn(actx)
			cancel()
			if err == nil {
				err = sp.PublishCamera(r.camera...)
			}
			if err != nil {
				fail(rm, fmt.Errorf("camera_on: %w", err))
				continue
			}
			r.cameras++
		}
	}
	if r.cameras == 0 {
		return firstErr // nil when there are no speakers: an idle test
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		waiting := 0
		r.mu.Lock()
		for _, c := range r.listeners {
			if countVideo(c).keyframes == 0 {
				waiting++
			}
		}
		r.mu.Unlock()
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			r.cfg.Logger.Warn("some listeners received no video keyframe within 10 s", "listeners", waiting)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// videoSnapshot is every listener's count, in r.listeners' order (nil
// without Config.Video).
func (r *run) videoSnapshot() []videoCount {
	if !r.cfg.Video {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]videoCount, len(r.listeners))
	for i, c := range r.listeners {
		out[i] = countVideo(c)
	}
	return out
}

// videoResult is what the listeners received between two snapshots,
// elapsed apart.
func (r *run) videoResult(start, end []videoCount, elapsed time.Duration) *VideoResult {
	v := &VideoResult{Cameras: r.cameras, Layers: make(map[string]int)}
	var gaps uint64
	for i, e := range end {
		d := e
		if i < len(start) {
			d = e.minus(start[i])
		}
		v.PacketsReceived += d.packets
		v.BytesReceived += d.bytes
		v.Frames += d.frames
		v.Keyframes += d.keyframes
		v.PictureGaps += d.pictureGaps
		gaps += d.seqGaps
		if d.bytes > 0 {
			v.ListenersSaw++
		}
	}
	r.mu.Lock()
	for _, c := range r.listeners {
		for _, s := range cameraSlots(c) {
			if s.Width > 0 {
				v.Layers[fmt.Sprintf("%dx%d", s.Width, s.Height)]++
			}
		}
	}
	r.mu.Unlock()
	if n := v.PacketsReceived + gaps; n > 0 {
		v.LossPct = round(100*float64(gaps)/float64(n), 3)
	}
	if len(end) > 0 && elapsed > 0 {
		v.KbpsPerListener = round(float64(v.BytesReceived)*8/1000/elapsed.Seconds()/float64(len(end)), 1)
	}
	return v
}

// layers lists v.Layers for people, largest first: "640x360 ×20, …".
func (v *VideoResult) layers() string {
	keys := slices.SortedFunc(maps.Keys(v.Layers), func(a, b string) int {
		var wa, ha, wb, hb int
		fmt.Sscanf(a, "%dx%d", &wa, &ha)
		fmt.Sscanf(b, "%dx%d", &wb, &hb)
		return wb*hb - wa*ha
	})
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s ×%d", k, v.Layers[k])
	}
	if s == "" {
		return "none"
	}
	return s
}
