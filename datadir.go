package brook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// The marker file that makes a directory a Brook data directory. Open
// creates it only in a directory it creates or that is empty, and refuses
// any other directory without it, so that Brook never deletes or changes
// what it did not create.
const (
	markerName    = "BROOK"
	markerFormat  = 1
	markerContent = `{"brook": "data directory", "format": 1}` + "\n"
)

type marker struct {
	Brook  string `json:"brook"`
	Format int    `json:"format"`
}

// dataSubdirs are the directories of a data directory's layout.
var dataSubdirs = []string{"topics", "groups", "tmp"}

// dirState is what inspectDataDir found.
type dirState int

const (
	dirMissing dirState = iota // no such directory
	dirEmpty                   // an empty directory
	dirLegacy                  // Brook's layout from before the marker
	dirMarked                  // a data directory with a valid marker
)

// inspectDataDir says what dir is, changing nothing. The data directory
// itself may be a symbolic link; nothing inside it may be. A non-empty
// directory with no marker is refused with ErrNotDataDir, except the layout
// that Brook wrote before it had a marker (LOCK, topics, groups, tmp and
// nothing else).
func inspectDataDir(dir string) (dirState, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return dirMissing, nil
	case err != nil:
		return 0, fmt.Errorf("brook: data directory: %w", err)
	case !info.IsDir():
		return 0, fmt.Errorf("%w: %s: %w", ErrNotDataDir, dir, syscall.ENOTDIR)
	}
	state := dirMarked
	if marked, err := readMarker(dir); err != nil {
		return 0, err
	} else if !marked {
		if state, err = classifyUnmarked(dir); err != nil || state == dirEmpty {
			return state, err
		}
	}
	for _, sub := range dataSubdirs {
		if err := checkEntry(filepath.Join(dir, sub), true); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	return state, nil
}

// CheckDataDir reports whether dir is a Brook data directory that Open
// would accept, without creating, writing or locking anything: nil, or an
// error matching ErrNotDataDir, ErrUnexpectedFile, ErrCorrupt (a damaged
// marker) or the file system's cause. Tools that inspect a directory call
// it before they read it.
func CheckDataDir(dir string) error {
	state, err := inspectDataDir(dir)
	if err != nil {
		return err
	}
	return notYet(dir, state)
}

// notYet is the error for a directory that holds no data directory yet.
func notYet(dir string, state dirState) error {
	switch state {
	case dirMissing:
		return fmt.Errorf("%w: %s does not exist", ErrNotDataDir, dir)
	case dirEmpty:
		return fmt.Errorf("%w: %s is empty", ErrNotDataDir, dir)
	}
	return nil
}

// prepareDataDir checks that dir is a Brook data directory, creating it
// (or its layout in an empty directory) when create is set, and marking an
// older Brook's layout.
func prepareDataDir(m metaFS, log *slog.Logger, dir string, create bool) error {
	state, err := inspectDataDir(dir)
	if err != nil {
		return err
	}
	if state == dirMissing || state == dirEmpty {
		if !create {
			return notYet(dir, state)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("brook: create data directory: %w", err)
		}
	}
	for _, sub := range dataSubdirs {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("brook: create data directory: %w", err)
		}
	}
	if state != dirMarked {
		err := writeFileVia(m, filepath.Join(dir, "tmp"), filepath.Join(dir, markerName), []byte(markerContent))
		if state == dirLegacy && noSpace(err) {
			// An older Brook's directory on a full disk: it opens as it
			// did, and a later Open marks it.
			log.Warn("brook: no space to write the data directory marker; a later Open writes it", "dir", dir)
			err = nil
		}
		if err != nil {
			return fmt.Errorf("brook: write data directory marker: %w", err)
		}
	}
	return nil
}

// readMarker reports whether dir has a valid marker.
func readMarker(dir string) (bool, error) {
	path := filepath.Join(dir, markerName)
	if err := checkEntry(path, false); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("brook: data directory marker: %w", err)
	}
	var m marker
	if err := json.Unmarshal(data, &m); err != nil || m.Brook != "data directory" {
		return false, fmt.Errorf("%w: %s is not a Brook marker file", ErrCorrupt, path)
	}
	if m.Format != markerFormat {
		return false, fmt.Errorf("%w: %s has format %d; this Brook reads format %d (written by a newer release?)",
			ErrNotDataDir, dir, m.Format, markerFormat)
	}
	return true, nil
}

// classifyUnmarked tells an empty directory or an older Brook's layout
// from anything else, which it refuses.
func classifyUnmarked(dir string) (dirState, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("brook: data directory: %w", err)
	}
	if len(ents) == 0 {
		return dirEmpty, nil
	}
	legacy := slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.Name() == "topics" })
	for _, e := range ents {
		switch {
		case e.Name() == "LOCK" && e.Type().IsRegular():
		case slices.Contains(dataSubdirs, e.Name()) && e.IsDir():
		default:
			legacy = false
		}
	}
	if !legacy {
		return 0, fmt.Errorf("%w: %s is not empty and has no %s marker; Brook refuses to use it so as never to change what it did not create",
			ErrNotDataDir, dir, markerName)
	}
	return dirLegacy, nil
}

// checkEntry checks that path, inside the data directory, is a directory
// (dir set) or a regular file, and not a symbolic link: Brook never follows
// a link inside its directory and never opens a special file, which could
// block (a FIFO) or be another file altogether. A missing path is returned
// as an error matching fs.ErrNotExist.
func checkEntry(path string, dir bool) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return checkMode(path, info.Mode(), dir)
}

func checkMode(path string, m fs.FileMode, dir bool) error {
	switch {
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link (links inside the data directory are not followed)", ErrUnexpectedFile, path)
	case dir && !m.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUnexpectedFile, path)
	case !dir && !m.IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrUnexpectedFile, path)
	}
	return nil
}
