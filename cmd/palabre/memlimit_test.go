package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	avail := func() uint64 { return 8 << 30 }
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"auto", 6 << 30, false},
		{"", 6 << 30, false},
		{"off", 0, false},
		{"2GiB", 2 << 30, false},
		{"1500MiB", 1500 << 20, false},
		{"3221225472", 3 << 30, false},
		{"10MiB", 0, true},
		{"2GB", 0, true},
		{"-1GiB", 0, true},
		{"lots", 0, true},
		{"99999999999TiB", 0, true},
	} {
		got, err := memoryLimit(c.in, avail)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d (error: %v)", c.in, got, err, c.want, c.bad)
		}
	}
	if got, _ := memoryLimit("auto", func() uint64 { return 0 }); got != 0 {
		t.Errorf("auto with nothing known = %d, want no limit", got)
	}
}

func TestAvailableMemorySources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mi := write("meminfo", "MemTotal:       24576000 kB\nMemFree:        1000 kB\n")
	if got := meminfoTotal(mi); got != 24576000<<10 {
		t.Errorf("MemTotal = %d", got)
	}
	self := write("self-cgroup", "0::/system.slice/palabre.service\n")
	write("root/system.slice/palabre.service/memory.max", "2147483648\n")
	if got := cgroupMemoryMax(self, filepath.Join(dir, "root")); got != 2<<30 {
		t.Errorf("memory.max = %d", got)
	}
	write("root/system.slice/palabre.service/memory.max", "max\n")
	if got := cgroupMemoryMax(self, filepath.Join(dir, "root")); got != 0 {
		t.Errorf("memory.max unlimited = %d", got)
	}
	if availableMemory() == 0 {
		t.Error("this machine's memory is unknown")
	}
}
