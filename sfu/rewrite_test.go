package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestSlotRewrite(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	a, b := &Participant{source: 7}, &Participant{source: 9}
	steps := []struct {
		name    string
		pub     *Participant
		epoch   uint32
		seq     uint16
		ts      uint32
		now     int64
		ok      bool
		wantSeq uint16
		wantTS  uint32
		marker  bool
	}{
		{"first packet starts a run", a, 1, 10, 100, ms(0), true, 1001, 5000, true},
		{"deltas pass through", a, 1, 11, 1060, ms(20), true, 1002, 5960, false},
		{"upstream loss stays a hole", a, 1, 13, 2980, ms(60), true, 1004, 7880, false},
		{"reordered packet keeps its place", a, 1, 12, 2020, ms(65), true, 1003, 6920, false},
		{"new speaker: continue, advance by wall time", b, 1, 500, 9999, ms(100), true, 1005, 7880 + 1920, true},
		{"speaker back: at least one frame", a, 1, 14, 3940, ms(110), true, 1006, 9800 + 960, true},
		{"gate re-opened (new epoch) rebases", a, 2, 15, 4900, ms(170), true, 1007, 10760 + 2880, true},
		{"late packet from before the run is dropped", a, 2, 14, 3940, ms(175), false, 0, 0, false},
		{"run continues", a, 2, 16, 5860, ms(190), true, 1008, 13640 + 960, false},
		{"sequence wraps", b, 3, 65535, 0, ms(210), true, 1009, 14600 + 960, true},
		{"sequence wraps (2)", b, 3, 0, 960, ms(230), true, 1010, 15560 + 960, false},
	}
	var st slotState
	st.bind(nil, 0xABCD, 111, 3)
	st.lastSeq, st.lastTS = 1000, 5000
	for _, s := range steps {
		h := rtp.Header{SequenceNumber: s.seq, Timestamp: s.ts, PayloadType: 96, SSRC: 1}
		if err := h.SetExtension(1, []byte{0x80 | 20}); err != nil {
			t.Fatal(err)
		}
		ok := st.rewrite(s.pub, s.pub.source, s.epoch, &h, 0x80|20, true, s.now)
		if ok != s.ok {
			t.Fatalf("%s: ok = %v", s.name, ok)
		}
		if !ok {
			continue
		}
		o := &st.hdr
		if o.SequenceNumber != s.wantSeq || o.Timestamp != s.wantTS || o.Marker != s.marker {
			t.Errorf("%s: seq %d ts %d marker %v, want %d %d %v", s.name, o.SequenceNumber, o.Timestamp, o.Marker, s.wantSeq, s.wantTS, s.marker)
		}
		if o.SSRC != 0xABCD || o.PayloadType != 111 || len(o.CSRC) != 1 || o.CSRC[0] != s.pub.source {
			t.Errorf("%s: ssrc %x pt %d csrc %v", s.name, o.SSRC, o.PayloadType, o.CSRC)
		}
		if lvl := o.GetExtension(3); len(lvl) != 1 || lvl[0] != 0x80|20 || o.GetExtension(1) != nil {
			t.Errorf("%s: extensions %v", s.name, o.Extensions)
		}
	}

	// A subscriber without the audio-level extension gets none.
	st.levelID = 0
	h := rtp.Header{SequenceNumber: 1, Timestamp: 1920}
	st.rewrite(b, b.source, 3, &h, 20, true, ms(250))
	if st.hdr.Extension || len(st.hdr.Extensions) != 0 {
		t.Errorf("extension written without negotiation: %+v", st.hdr)
	}
}

func TestSegmentForNACK(t *testing.T) {
	a, b := &Participant{source: 1}, &Participant{source: 2}
	var st slotState
	st.bind(nil, 1, 111, 0)
	st.lastSeq, st.lastTS = 99, 0
	feed := func(p *Participant, epoch uint32, seq uint16) {
		h := rtp.Header{SequenceNumber: seq}
		st.rewrite(p, p.source, epoch, &h, 0, false, 0)
	}
	feed(a, 1, 500) // out 100
	feed(a, 1, 501) // out 101
	feed(b, 1, 10)  // out 102
	feed(b, 1, 11)  // out 103
	for _, c := range []struct {
		seq    uint16
		pub    *Participant
		upSeq  uint16
		absent bool
	}{
		{seq: 100, pub: a, upSeq: 500},
		{seq: 101, pub: a, upSeq: 501},
		{seq: 102, pub: b, upSeq: 10},
		{seq: 103, pub: b, upSeq: 11},
		{seq: 104, absent: true}, // not sent yet
		{seq: 99, absent: true},  // before the first run
	} {
		seg := st.segmentFor(c.seq)
		if c.absent {
			if seg != nil {
				t.Errorf("seq %d: found a segment", c.seq)
			}
			continue
		}
		if seg == nil || seg.pub != c.pub || c.seq-seg.seqDelta != c.upSeq {
			t.Errorf("seq %d: segment %+v", c.seq, seg)
		}
	}
}

func TestPrerollRing(t *testing.T) {
	var r preroll
	for i := range prerollSize + 5 {
		r.push([]byte{byte(i)}, int64(i))
	}
	if r.len() != prerollSize {
		t.Fatalf("len %d", r.len())
	}
	for k := range r.len() {
		at, b := r.at(k)
		if want := int64(k + 5); at != want || b[0] != byte(want) {
			t.Errorf("entry %d = %d %v, want %d", k, at, b, want)
		}
	}
	r.reset()
	if r.len() != 0 {
		t.Error("reset kept entries")
	}
}

func TestVoiceActivity(t *testing.T) {
	cases := []struct {
		name   string
		levels []uint8
		active bool
	}{
		{"silence", []uint8{127, 127, 127, 127}, false},
		{"one click is not speech", []uint8{127, 127, 10, 127}, false},
		{"two loud packets are speech", []uint8{127, 20, 20}, true},
		{"short pause keeps speech", []uint8{20, 20, 20, 20, 127, 127}, true},
		{"long pause ends speech", []uint8{20, 20, 20, 20, 127, 127, 127, 127, 127, 127}, false},
		{"background noise", []uint8{70, 65, 72, 68, 70, 66}, false},
		{"voice flag bit is ignored", []uint8{0x80 | 127, 0x80 | 127, 0x80 | 127}, false},
	}
	for _, c := range cases {
		var v voiceActivity
		var active bool
		for _, l := range c.levels {
			active = v.update(l)
		}
		if active != c.active {
			t.Errorf("%s: active = %v", c.name, active)
		}
	}
}

func TestValidateAnswer(t *testing.T) {
	mids := []string{"0", "1"}
	good := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"a=fingerprint:sha-256 AB:CD\r\na=group:BUNDLE 0 1\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=sendonly\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"
	cases := []struct {
		name string
		sdp  string
		ok   bool
	}{
		{"good", good, true},
		{"garbage", "garbage", false},
		{"empty", "", false},
		{"missing media", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", false},
		{"wrong mid", replace(good, "a=mid:1", "a=mid:7"), false},
		{"no opus", replace(good, "SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1", "SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:1"), false},
		{"no fingerprint", replace(good, "a=fingerprint:sha-256 AB:CD\r\n", ""), false},
		{"no ice", replace(good, "a=ice-pwd:p\r\n", ""), false},
	}
	for _, c := range cases {
		if _, err := validateAnswer(c.sdp, mids, Layout{AudioSlots: len(mids) - 1}); (err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
}

func replace(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	panic("replace: " + old + " not found")
}

// A speaker holding a slot for longer than half the sequence space (32768
// packets, 11 minutes) must stay heard, and the output must stay gapless.
func TestSlotRewriteLongRun(t *testing.T) {
	var st slotState
	st.bind(nil, 0xABCD, 111, 0)
	pub := &Participant{source: 7}
	h := rtp.Header{SequenceNumber: 40000, Timestamp: 1, PayloadType: 111, SSRC: 1}
	var last uint16
	for i := range 200000 {
		if !st.rewrite(pub, pub.source, 1, &h, 0, false, int64(i)*20e6) {
			t.Fatalf("packet %d (upstream seq %d) dropped", i, h.SequenceNumber)
		}
		if i > 0 && st.hdr.SequenceNumber != last+1 {
			t.Fatalf("packet %d: out seq %d after %d", i, st.hdr.SequenceNumber, last)
		}
		last = st.hdr.SequenceNumber
		h.SequenceNumber++
		h.Timestamp += 960
	}
	// A packet far too late for this run is still refused.
	h.SequenceNumber -= 5000
	if st.rewrite(pub, pub.source, 1, &h, 0, false, 0) {
		t.Error("a packet 5000 behind the run was forwarded")
	}
}
