package signaling_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"palabre/client"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// attackSeconds is how long the password-guessing attack runs: 4 s in the
// suite, longer with PALABRE_ATTACK_SECONDS=12.6 to reproduce the figures
// of the hardening issue.
func attackSeconds(t *testing.T) time.Duration {
	if v := os.Getenv("PALABRE_ATTACK_SECONDS"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("PALABRE_ATTACK_SECONDS=%q: %v", v, err)
		}
		return time.Duration(f * float64(time.Second))
	}
	return 4 * time.Second
}

// dialFrom connects a client that the server sees as coming from ip (the
// test server trusts loopback as a reverse proxy).
func (ts *testServer) dialFrom(ip string) (*client.Client, error) {
	h := http.Header{}
	h.Set("X-Forwarded-For", ip)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Dial(ctx, ts.URL, client.Options{Header: h})
}

// Fifty addresses guess a room's password as fast as the server answers.
// Meanwhile an honest newcomer with the right password and the room's
// organizer get in at their first try, and the guesses checked stay within
// the room's budgets (the rest are refused before any hash is computed).
func TestPasswordGuessingLocksNobodyOut(t *testing.T) {
	for _, attackers := range []int{50, 200} {
		t.Run(fmt.Sprintf("%d addresses", attackers), func(t *testing.T) {
			passwordAttack(t, attackers)
		})
	}
}

func passwordAttack(t *testing.T, attackers int) {
	ts := startServer(t, withOptions(behindProxy))
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "vault", Password: "the right one"}).OrganizerSecret
	dur := attackSeconds(t)
	stop := make(chan struct{})
	var checked, refused atomic.Int64 // wrong passwords hashed; refused before hashing
	var wg sync.WaitGroup
	for i := range attackers {
		ip := fmt.Sprintf("10.9.%d.%d", i/250, i%250+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection after another: the server closes a connection
			// that floods it, the attacker opens the next.
			for n := 0; ; {
				c, err := ts.dialFrom(ip)
				if err != nil {
					return // server gone (test over)
				}
				for ; ; n++ {
					select {
					case <-stop:
						c.Close()
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, err := c.Request(ctx, proto.Message{Type: proto.TypeJoin, Room: "vault", Name: "x", Password: fmt.Sprintf("guess-%d", n)})
					cancel()
					code := errCode(err)
					if code == proto.CodeBadPassword {
						checked.Add(1)
						continue
					}
					if code == proto.CodeRateLimited {
						refused.Add(1)
						continue
					}
					break
				}
				c.Close()
			}
		}()
	}
	start := time.Now()
	time.Sleep(dur / 3) // the attack is in full swing (the measured window)

	newcomerAt := time.Now()
	newcomer, err := ts.dialFrom("10.200.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer newcomer.Close()
	if _, err := newcomer.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "vault", Name: "honest", Password: "the right one"}); err != nil {
		t.Errorf("honest newcomer with the right password refused during the attack: %v", err)
	}
	newcomerTook := time.Since(newcomerAt)

	orgAt := time.Now()
	org, err := ts.dialFrom("10.200.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer org.Close()
	if _, err := org.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "vault", Name: "org", Secret: secret}); err != nil {
		t.Errorf("organizer refused during the attack: %v", err)
	}
	orgTook := time.Since(orgAt)

	time.Sleep(max(dur-time.Since(start), 0))
	close(stop)
	elapsed := time.Since(start)
	for _, c := range []*client.Client{newcomer, org} {
		c.Close()
	}
	wg.Wait()

	// Budgets: 30 wrong checks a minute per room (bursts of 30), plus, per
	// /24 the attack comes from, 5 a minute (bursts of 5) for addresses
	// that had not failed.
	minutes := elapsed.Minutes()
	networks := (attackers + 249) / 250
	bound := int64(30+30*minutes) + int64(networks)*int64(5+5*minutes)
	t.Logf("%d addresses for %.1f s: %d wrong passwords checked (bound %d), %d refused before hashing; newcomer in after %v, organizer after %v",
		attackers, elapsed.Seconds(), checked.Load(), bound, refused.Load(), newcomerTook.Round(time.Millisecond), orgTook.Round(time.Millisecond))
	if checked.Load() > bound {
		t.Errorf("%d wrong passwords checked, budget %d", checked.Load(), bound)
	}
	if refused.Load() == 0 {
		t.Error("no guess was refused: the attack did not reach the budgets")
	}
}
