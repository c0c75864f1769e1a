package vp8

import "testing"

// On real libvpx output packetized by pion, the first packet of every
// keyframe (as ffprobe counts them) is detected, and nothing else is.
func TestKeyframesOnRealPackets(t *testing.T) {
	for _, name := range []string{"plain", "tl3"} {
		t.Run(name, func(t *testing.T) {
			frames := readIVF(t, name+".ivf")
			keys := readKeys(t, name+".keys")
			if len(frames) != len(keys) || len(frames) != 60 {
				t.Fatalf("%d frames, %d key flags", len(frames), len(keys))
			}
			for _, mtu := range []uint16{1200, 300, 100} {
				pkts := pionPackets(frames, mtu)
				found, multi := 0, 0
				for _, p := range pkts {
					want := p.first && keys[p.frame]
					if got := IsKeyframe(p.payload); got != want {
						t.Errorf("mtu %d frame %d (first %v): IsKeyframe = %v, want %v",
							mtu, p.frame, p.first, got, want)
					}
					w, h, ok := KeyframeSize(p.payload)
					if ok != want || (ok && (w != 320 || h != 240)) {
						t.Errorf("mtu %d frame %d: KeyframeSize = %d, %d, %v", mtu, p.frame, w, h, ok)
					}
					if want {
						found++
					}
					if !p.first && keys[p.frame] {
						multi++
					}
				}
				if found != 2 {
					t.Errorf("mtu %d: %d keyframes, want 2 (frames 0 and 30)", mtu, found)
				}
				if multi == 0 {
					t.Errorf("mtu %d: keyframes fit in one packet: the test shows less than it should", mtu)
				}
			}
		})
	}
}

func TestIsKeyframeSynthetic(t *testing.T) {
	start := Descriptor{X: true, S: true, I: true, M: true, PictureID: 9}
	tests := []struct {
		name string
		d    Descriptor
		data []byte
		want bool
	}{
		{"keyframe", start, keyData, true},
		{"keyframe, no extension", Descriptor{S: true}, keyData, true},
		{"inter frame", start, interData, false},
		{"inter bit set, start code present", start, append([]byte{keyData[0] | 1}, keyData[1:]...), false},
		{"bad start code", start, []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2b, 0, 0, 0, 0}, false},
		{"start code cut", start, keyData[:5], false},
		{"not the start of a partition", Descriptor{X: true, I: true, M: true}, keyData, false},
		{"start of partition 1", Descriptor{S: true, PID: 1}, keyData, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := marshal(tt.d, tt.data)
			if got := IsKeyframe(b); got != tt.want {
				t.Errorf("IsKeyframe = %v, want %v", got, tt.want)
			}
		})
	}
	for _, b := range [][]byte{nil, {0x10}, {0x90, 0x80}} {
		if IsKeyframe(b) {
			t.Errorf("IsKeyframe(% x)", b)
		}
	}
}

func TestKeyframeSize(t *testing.T) {
	// 1920x1080 with scaling bits set, which are not part of the size.
	data := []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x47, 0x38, 0xc4, 0x00}
	w, h, ok := KeyframeSize(marshal(Descriptor{S: true}, data))
	if !ok || w != 1920 || h != 1080 {
		t.Errorf("KeyframeSize = %d, %d, %v", w, h, ok)
	}
	// The start code but not the dimensions.
	if _, _, ok := KeyframeSize(marshal(Descriptor{S: true}, data[:9])); ok {
		t.Error("KeyframeSize of a cut keyframe header")
	}
	if _, _, ok := KeyframeSize(marshal(Descriptor{S: true}, interData)); ok {
		t.Error("KeyframeSize of an inter frame")
	}
}
