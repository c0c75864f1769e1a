//go:build !race

package cluster

// raceSlowdown scales the time bounds of tests under the race detector.
const raceSlowdown = 1
