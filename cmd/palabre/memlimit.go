package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The soft memory limit (runtime/debug.SetMemoryLimit) the server runs
// under, docs/deploy.md "Memory". Go's collector otherwise lets the heap
// grow to twice the live heap (GOGC=100) whatever the machine has; with a
// limit it collects more often as the heap nears it, instead of the kernel
// killing the process. GOGC stays 100: below the limit, collections are as
// rare as usual, so forwarding is not slowed on a machine with room.
//
// --memory-limit auto (the default) is 75 % of what the process may use:
// the cgroup's memory.max (a container, a systemd unit with MemoryMax) if
// there is one, else the machine's memory. The quarter left is for what
// the limit does not count well (the kernel's socket buffers, file cache)
// and for the collector to work in. GOMEMLIMIT in the environment wins
// over the flag (the runtime read it at start).

const autoMemoryFraction = 0.75

// memoryLimit is the limit the flag value asks for, 0 for none (off).
// avail reads what the process may use, 0 if unknown.
func memoryLimit(v string, avail func() uint64) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "off", "none":
		return 0, nil
	case "auto", "":
		a := avail()
		if a == 0 {
			return 0, nil
		}
		return int64(float64(a) * autoMemoryFraction), nil
	}
	n, err := parseSize(v)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit %s: %w", v, err)
	}
	if n < 64<<20 {
		return 0, fmt.Errorf("--memory-limit %s: below 64MiB the server cannot hold a room", v)
	}
	return n, nil
}

// parseSize reads a size the way GOMEMLIMIT does: a number of bytes with
// an optional B, KiB, MiB, GiB or TiB suffix.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a size such as 2GiB or 1500MiB (units B, KiB, MiB, GiB, TiB)")
	}
	return n * mult, nil
}

// availableMemory is the cgroup v2 memory.max of this process, or the
// machine's MemTotal, whichever is smaller; 0 if neither can be read.
func availableMemory() uint64 {
	total := meminfoTotal("/proc/meminfo")
	if lim := cgroupMemoryMax("/proc/self/cgroup", "/sys/fs/cgroup"); lim > 0 && (total == 0 || lim < total) {
		return lim
	}
	return total
}

func meminfoTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupMemoryMax reads memory.max of the process's cgroup (v2: the line
// "0::/path" of /proc/self/cgroup); 0 when unlimited or unknown.
func cgroupMemoryMax(selfCgroup, root string) uint64 {
	b, err := os.ReadFile(selfCgroup)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		rel, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		v, err := os.ReadFile(root + strings.TrimSpace(rel) + "/memory.max")
		if err != nil {
			return 0
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64)
		if err != nil { // "max"
			return 0
		}
		return n
	}
	return 0
}

// applyMemoryLimit sets the limit of --memory-limit, unless GOMEMLIMIT
// is set, and logs what the server runs under.
func applyMemoryLimit(v string, log *slog.Logger) error {
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		log.Info("memory limit from GOMEMLIMIT", "limit", env)
		return nil
	}
	n, err := memoryLimit(v, availableMemory)
	if err != nil {
		return err
	}
	if n == 0 {
		log.Info("no memory limit")
		return nil
	}
	debug.SetMemoryLimit(n)
	log.Info("memory limit", "limit_mib", n>>20, "from", v)
	return nil
}
