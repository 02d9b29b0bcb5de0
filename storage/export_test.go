package storage

// The helpers of this package's tests, for its external tests (package
// storage_test), which can use storagetest: that package imports storage,
// so tests inside package storage cannot import it.
var (
	OpenT        = openT
	Rec          = rec
	AppendN      = appendN
	ReadAll      = readAll
	RequireRecs  = requireRecs
	SegFiles     = segFiles
	FrameStarts  = frameStarts
	TruncateFile = truncateFile
)

// SaveCut is saveCut of a bare Log of dir working through fsys.
func SaveCut(dir string, fsys FS, cut []byte) (string, error) {
	return (&Log{dir: dir, fs: fsys}).saveCut(cut)
}
