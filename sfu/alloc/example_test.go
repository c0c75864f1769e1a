package alloc_test

import (
	"fmt"
	"time"

	"palabre/sfu/alloc"
)

// One receiver with a screen share and two cameras, a 1.2 Mbit/s REMB and
// 60 kbit/s of audio.
func Example() {
	now := time.Unix(0, 0)
	est := alloc.NewEstimator()
	est.OnREMB(1_200_000, now)

	var a alloc.Allocator
	slots := []alloc.Slot{
		{ID: 2, Wish: alloc.WishHigh, Rates: alloc.Rates{{600_000}}}, // the screen
		{ID: 0, Wish: alloc.WishHigh, Rates: alloc.NominalCamera},    // the speaker
		{ID: 1, Wish: alloc.WishLow, Rates: alloc.NominalCamera},     // a small tile
	}
	r := a.Allocate(now, alloc.Input{
		Estimate: est.Estimate(now),
		CanProbe: est.CanProbe(now),
		Audio:    60_000,
		Slots:    slots,
	})
	// The speaker's next step, half resolution at 30 fps, would need
	// (60k + 1,160k) × 1.15 = 1.4 Mbit/s.
	for i, t := range r.Targets {
		fmt.Printf("slot %d: %v keyframe=%v\n", slots[i].ID, t.Layer, t.Keyframe)
	}
	fmt.Println("video:", r.Video)

	// What the speaker's publisher is asked for, if this receiver is the
	// only one.
	fmt.Println("REMB to the speaker:", alloc.Demand(&alloc.NominalCamera, []alloc.Layer{r.Targets[1].Layer}, 40_000))
	// Output:
	// slot 2: S0T0 keyframe=true
	// slot 0: S0T2 keyframe=true
	// slot 1: S0T2 keyframe=true
	// video: 900000
	// REMB to the speaker: 212500
}
