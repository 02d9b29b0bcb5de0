package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/storage"
)

// TestCheckAgreesWithOpen: the damage of issue 18 item 7, which Open
// refuses, makes check report a problem and exit non-zero.
func TestCheckAgreesWithOpen(t *testing.T) {
	cases := map[string]struct {
		damage func(t *testing.T, dir string)
		report string // what check says
	}{
		"topic.json of an unknown version": {report: "topics/t/topic.json: brook: corrupt data: ", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "topics", "t", "topic.json")
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), `"version": 1`, `"version": 7`, 1)), 0o600))
		}},
		"a directory in topics/ with an invalid name": {report: "topics/bad name: brook: corrupt data: ", damage: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "topics", "bad name"), 0o700))
		}},
		"an offsets record that does not decode": {report: "groups/g: the group fails to load: ", damage: func(t *testing.T, dir string) {
			l, err := storage.Open(filepath.Join(dir, "groups", "g"), nil)
			require.NoError(t, err)
			_, err = l.Append(context.Background(), []storage.Record{{Value: []byte{9, 9, 9}}})
			require.NoError(t, err)
			require.NoError(t, l.Close())
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := healthyDir(t)
			c.damage(t, dir)
			b, err := brook.Open(dir, nil)
			if err == nil {
				_, err = b.GroupStats("g")
				b.Close()
			}
			require.ErrorIs(t, err, brook.ErrCorrupt, "Open or the group fails")
			r := brookCmd(t, dir, "check")
			assert.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, c.report)
			assert.Contains(t, r.stdout, "topics/t/0", "the logs are still checked and reported")
		})
	}
}
