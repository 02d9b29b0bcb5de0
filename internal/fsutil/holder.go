package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockedError is returned by Lock when another holder has the file locked.
// It matches ErrLocked. Holder is what the holder wrote into the lock file
// when it took the lock (see Lock): its process ID, program, host and the
// time, or "" when that cannot be read (on Windows the holder's open
// excludes every other, and a holder may not have written it yet).
type LockedError struct {
	Name   string
	Holder string
}

// Error names the file and its holder.
func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s (%s)", ErrLocked, e.Name, e.Held())
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Held describes the holder for a message: "held by pid 4242 (brook) on
// host db1 since 2026-12-03T14:41:42Z", or "held by another process" when
// the holder is unknown.
func (e *LockedError) Held() string {
	if e.Holder == "" {
		return "held by another process"
	}
	return "held by " + e.Holder
}

// holderLine is what a lock holder writes into its lock file.
func holderLine() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("pid %d (%s) on host %s since %s\n", os.Getpid(), filepath.Base(os.Args[0]), host,
		time.Now().UTC().Format(time.RFC3339))
}

// writeHolder records this process as the holder in the locked file f. It
// is best effort: the lock holds whether or not the note is written.
func writeHolder(f *os.File) {
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(holderLine()), 0)
	}
}

// readHolder returns the holder noted in the lock file name, or "".
func readHolder(name string) string {
	data, err := os.ReadFile(name)
	if err != nil || len(data) > 1024 {
		return ""
	}
	s := strings.TrimSpace(string(data))
	if !strings.HasPrefix(s, "pid ") || strings.ContainsAny(s, "\n\r") {
		return ""
	}
	return s
}
