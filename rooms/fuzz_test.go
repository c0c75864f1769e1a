package rooms

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecodeRecord: a stored or replicated room record of any bytes is
// decoded without panicking, and what is accepted is a valid definition
// that encodes back to a record decoding to the same definition.
func FuzzDecodeRecord(f *testing.F) {
	good, _ := json.Marshal(toRecord(Definition{
		Name: "choir", Mode: ModePTT, MaxSpeakers: 1, MaxParticipants: 30,
		OrganizerHash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Created:       time.Unix(1700000000, 0).UTC(), Updated: time.Unix(1700000001, 0).UTC(),
		Version: Version{Clock: 42, Node: "n1"},
	}))
	f.Add([]byte("choir"), good)
	f.Add([]byte("x"), []byte(`{"v":1,"name":"x","mode":"open","max_speakers":0}`))
	f.Add([]byte("x"), []byte(`{"v":2}`))
	f.Add([]byte("x"), []byte(`{"v":1,"name":"x","mode":"open","max_speakers":3,"password_hash":"$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"}`))
	f.Fuzz(func(t *testing.T, key, data []byte) {
		d, err := decodeRecord(key, data)
		if err != nil {
			return
		}
		again := d
		if err := normalize(&again); err != nil || again != d {
			t.Fatalf("accepted an invalid definition %+v: %v", d, err)
		}
		enc, err := json.Marshal(toRecord(d))
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeRecord(key, enc)
		if err != nil || back != d {
			t.Fatalf("round trip: %+v → %+v (%v)", d, back, err)
		}
	})
}

// FuzzApplyReplicas: replicas of any content, as a peer may send them, are
// applied to a real store without panicking, and the store then holds only
// valid definitions.
func FuzzApplyReplicas(f *testing.F) {
	good, _ := json.Marshal(toRecord(Definition{Name: "choir", Mode: ModeOpen, MaxSpeakers: 3, Version: Version{Clock: 5, Node: "n2"}}))
	f.Add("choir", uint64(5), "n2", false, good)
	f.Add("choir", uint64(6), "n2", true, []byte(nil))
	f.Add("Bad Name", uint64(1), "", false, []byte(`{}`))
	s := openTestOpts(f, f.TempDir(), Options{})
	f.Fuzz(func(t *testing.T, name string, clock uint64, node string, deleted bool, data []byte) {
		_, _ = s.ApplyReplicas([]Replica{{Name: name, Clock: clock, Node: node, Deleted: deleted, Data: data}})
		for _, d := range s.List() {
			again := d
			if err := normalize(&again); err != nil {
				t.Fatalf("store holds an invalid definition %+v: %v", d, err)
			}
		}
	})
}
