package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckRepairCutsAtDamage(t *testing.T) {
	dir := healthyDir(t)
	flipByte(t, segment(t, filepath.Join(dir, "topics", "t", "0")), 30) // inside the second of three records

	r := mustRun(t, dir, "", "check", "--repair", "t/1")
	assert.Contains(t, r.stdout, "t/1: no damage found; nothing changed")

	r = mustRun(t, dir, "", "check", "--repair", "t/0")
	assert.Regexp(t, `t/0: cut at offset 1, 2 records dropped \(storage: log corrupt: .*offset 1: .*\); the cut bytes are kept in .*corrupt-\d+-00000000000000000001\.bin`, r.stdout)
	saved, err := filepath.Glob(filepath.Join(dir, "topics", "t", "0", "corrupt-*.bin"))
	require.NoError(t, err)
	require.Len(t, saved, 1)
	fi, err := os.Stat(saved[0])
	require.NoError(t, err)
	assert.Positive(t, fi.Size())

	r = mustRun(t, dir, "", "check")
	assert.Contains(t, r.stdout, "0 damaged", "the partition is healthy again")
	mustRun(t, dir, "", "topics", "list")

	r = brookCmd(t, dir, "check", "t/0")
	assert.Equal(t, exitUsage, r.code, "a partition to cut needs --repair")
}
