//go:build !windows

package fsutil

import "os"

// SyncDir fsyncs the directory dir, so that the files created, renamed or
// removed in it survive a power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
