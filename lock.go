package brook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/brookmq/brook/internal/fsutil"
)

// lockDir takes an exclusive, non-blocking lock on dir/LOCK (see
// fsutil.Lock for what it is on each platform). The lock is held by the
// open file and released when it is closed or the process dies, so a
// crashed broker never leaves a stale lock behind.
func lockDir(dir string) (*os.File, error) {
	f, err := fsutil.Lock(filepath.Join(dir, "LOCK"))
	if errors.Is(err, fsutil.ErrLocked) {
		return nil, fmt.Errorf("%w: %s (close the other broker or use another directory)", ErrLocked, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("brook: lock %s: %w", dir, err)
	}
	return f, nil
}
