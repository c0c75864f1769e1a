//go:build race

package cluster

// raceSlowdown scales the time bounds of tests under the race detector,
// which makes JSON decoding about eight times slower.
const raceSlowdown = 10
