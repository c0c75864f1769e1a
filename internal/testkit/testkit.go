// Package testkit holds what the tests of several packages share: a
// settable clock, a wait on a condition, a log buffer safe for concurrent
// writers. Only tests import it (checked by TestImportGraph in
// package server); it imports nothing of Palabre, so that every package's
// internal tests may use it. Whole servers for tests are in the
// subpackage testserver.
package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock, for the Now hooks of Store, Guard and the
// TURN server.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to a fixed date.
func NewClock() *Clock { return NewClockAt(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) }

// NewClockAt returns a Clock set to t.
func NewClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Eventually polls cond every 10 ms until it holds, and fails the test if
// it still does not after d. what says what was waited for.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// EventuallyNil polls check until it returns nil, and fails the test with
// its last error if it does not within d.
func EventuallyNil(t testing.TB, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer that many goroutines may write to (a
// server's logs) while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
