package main

import "testing"

func TestByteSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10485760", 10 << 20, true},
		{"10MiB", 10 << 20, true},
		{"10 mib", 10 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1GiB", 1 << 30, true},
		{"20MB", 20_000_000, true},
		{"300kb", 300_000, true},
		{"64b", 64, true},
		{"", 0, false},
		{"ten", 0, false},
		{"-1MiB", 0, false},
		{"1.5MiB", 0, false},
		{"99999999999999GiB", 0, false},
	} {
		var n int64
		err := byteSize{&n}.Set(c.in)
		if (err == nil) != c.ok || (c.ok && n != c.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok %v", c.in, n, err, c.want, c.ok)
		}
	}
	for n, want := range map[int64]string{10 << 20: "10MiB", 10 << 30: "10GiB", 1536 << 20: "1536MiB", 4096: "4KiB", 1000: "1000"} {
		if s := (byteSize{&n}).String(); s != want {
			t.Errorf("String(%d) = %q, want %q", n, s, want)
		}
	}
}
