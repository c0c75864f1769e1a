package signaling

import (
	"net/netip"
	"sync"

	"palabre/admission"
)

// AddressLimits bound what one client address (an IPv4 address, an IPv6
// /64) may hold at once. They are high enough for a school or a company
// behind one NAT; the load tester, which runs thousands of participants
// from one address, needs them raised. Zero fields take the defaults.
type AddressLimits struct {
	// Unjoined is how many WebSockets may be open without having joined a
	// room. Default 100.
	Unjoined int
	// Participants is how many participants may be in rooms. Default 300.
	Participants int
	// AdhocRooms is how many live ad-hoc rooms the address may have
	// opened (by being their first joiner). Default 20.
	AdhocRooms int
}

// Defaults of AddressLimits.
const (
	DefaultUnjoinedPerAddress     = 100
	DefaultParticipantsPerAddress = 300
	DefaultAdhocRoomsPerAddress   = 20
)

func (l AddressLimits) withDefaults() AddressLimits {
	if l.Unjoined <= 0 {
		l.Unjoined = DefaultUnjoinedPerAddress
	}
	if l.Participants <= 0 {
		l.Participants = DefaultParticipantsPerAddress
	}
	if l.AdhocRooms <= 0 {
		l.AdhocRooms = DefaultAdhocRoomsPerAddress
	}
	return l
}

// addressUse is one of the things counted per address.
type addressUse int

const (
	useUnjoined addressUse = iota
	useParticipant
	useAdhocRoom
	addressUses
)

func (u addressUse) String() string {
	return [...]string{"unjoined", "participants", "adhoc_rooms"}[u]
}

// addressTable counts what each address holds. An entry exists only while
// its address holds something, so the table is bounded by the server's
// open connections.
type addressTable struct {
	limits [addressUses]int
	mu     sync.Mutex
	m      map[netip.Addr]*[addressUses]int
}

func newAddressTable(l AddressLimits) *addressTable {
	l = l.withDefaults()
	return &addressTable{
		limits: [addressUses]int{l.Unjoined, l.Participants, l.AdhocRooms},
		m:      make(map[netip.Addr]*[addressUses]int),
	}
}

// acquire counts one more use u for ip, unless ip is at its limit.
func (t *addressTable) acquire(ip netip.Addr, u addressUse) bool {
	k := admission.Key(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[k]
	if c == nil {
		c = new([addressUses]int)
		t.m[k] = c
	}
	if c[u] >= t.limits[u] {
		return false
	}
	c[u]++
	return true
}

// release gives back one use u of ip.
func (t *addressTable) release(ip netip.Addr, u addressUse) {
	k := admission.Key(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[k]
	if c == nil || c[u] == 0 {
		return
	}
	c[u]--
	if *c == ([addressUses]int{}) {
		delete(t.m, k)
	}
}

func (t *addressTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
