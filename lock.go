package brook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/brookmq/brook/internal/fsutil"
)

// lockDir takes an exclusive, non-blocking lock on dir/LOCK (see
// fsutil.Lock for what it is on each platform) and notes this process in
// it. The lock is held by the open file and released when it is closed or
// the process dies, so a crashed broker never leaves a stale lock behind.
// When another process holds it, the ErrLocked error names that process.
func lockDir(dir string) (*os.File, error) {
	f, err := fsutil.Lock(filepath.Join(dir, "LOCK"))
	var le *fsutil.LockedError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w: %s, %s (close it or use another directory)", ErrLocked, dir, le.Held())
	}
	if err != nil {
		return nil, fmt.Errorf("brook: lock %s: %w", dir, err)
	}
	return f, nil
}
