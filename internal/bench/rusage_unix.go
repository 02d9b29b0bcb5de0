//go:build unix

package bench

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// peakRSS returns the peak resident set size of this process, in bytes.
//
// On Linux it reads VmHWM from /proc/self/status rather than asking
// getrusage: a process started by os/exec inherits in ru_maxrss the peak
// of the parent's memory (the child shares it between vfork and exec), so
// getrusage would report the parent's peak, not the child's.
func peakRSS() int64 {
	if runtime.GOOS == "linux" {
		if n := vmHWM(); n > 0 {
			return n
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes there
	}
	return int64(ru.Maxrss) << 10 // kilobytes elsewhere
}

// vmHWM returns the VmHWM line of /proc/self/status in bytes, or 0.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(rest) // "123456", "kB"
			if len(f) == 2 && string(f[1]) == "kB" {
				if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
