package alloc

import "testing"

func TestDemand(t *testing.T) {
	cam := NominalCamera
	noTemporal := Rates{{150_000}, {500_000}, {1_500_000}}
	upperOnly := Rates{{}, NominalCamera[1], NominalCamera[2]}
	huge := Rates{{1_000_000}, {3_000_000}, {9_000_000}}
	m := func(v int) int { return int(float64(v) * (1 + DemandMargin)) }
	tests := []struct {
		name  string
		rates Rates
		takes []Layer
		audio int
		want  int
	}{
		{"nobody takes anything: the lowest layer keeps flowing", cam, nil, 40_000, m(150_000) + 40_000},
		{"only paused receivers: the same", cam, []Layer{Off, Off}, 40_000, m(150_000) + 40_000},
		{"everyone on the lowest layer", cam, []Layer{L(0, 0), L(0, 2), Off}, 40_000, m(150_000) + 40_000},
		{"half resolution is the most anyone takes: no full layer", cam, []Layer{L(0, 1), L(1, 2), L(1, 0)}, 40_000, m(650_000) + 40_000},
		{"one receiver on full resolution, whatever its temporal layer", cam, []Layer{L(0, 0), L(2, 0)}, 40_000, m(2_150_000) + 40_000},
		{"the temporal layer taken does not lower the demand", cam, []Layer{L(1, 0)}, 0, m(650_000)},
		{"a source without temporal layers", noTemporal, []Layer{L(1, 0)}, 0, m(650_000)},
		{"a screen share, one layer", screenRates, []Layer{L(0, 0)}, 0, m(800_000)},
		{"a screen share nobody watches still flows", screenRates, []Layer{Off}, 0, m(800_000)},
		{"no rates known yet: the floor", Rates{}, []Layer{L(2, 2)}, 40_000, MinDemand + 40_000},
		{"a tiny lowest layer: the floor", Rates{{20_000}}, nil, 0, MinDemand},
		{"a source lacking spatial 0: its lowest layer is spatial 1", upperOnly, nil, 0, m(500_000)},
		{"capped", huge, []Layer{L(2, 0)}, 40_000, MaxDemand},
		{"invalid layers are ignored", cam, []Layer{Layer(42), Layer(-3)}, 0, m(150_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Demand(&tc.rates, tc.takes, tc.audio); got != tc.want {
				t.Errorf("Demand = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDemandNoAllocs(t *testing.T) {
	takes := []Layer{L(0, 0), L(2, 1), Off}
	if n := testing.AllocsPerRun(100, func() { Demand(&NominalCamera, takes, 40_000) }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
