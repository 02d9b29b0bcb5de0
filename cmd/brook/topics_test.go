package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

func TestTopicsCreateListDescribe(t *testing.T) {
	dir := newTopic(t, "orders", "3", "--retention-age", "7d", "--retention-bytes", "1GiB",
		"--max-message-bytes", "64KiB", "--sync", "interval")
	mustRun(t, dir, "", "topics", "create", "audit", "--partitions", "1")
	mustRun(t, dir, "a\nb\nc\n", "produce", "orders", "--partition", "1")

	r := mustRun(t, dir, "", "topics", "list")
	assert.Equal(t, []string{
		"TOPIC   PARTITIONS  MESSAGES  BYTES",
		"audit   1           0         0 B",
		"orders  3           3         60 B",
	}, lines(r.stdout))

	r = mustRun(t, dir, "", "topics", "list", "--json")
	var list []topicSummary
	decode(t, r.stdout, &list)
	assert.Equal(t, []topicSummary{{Name: "audit", Partitions: 1}, {Name: "orders", Partitions: 3, Messages: 3, Bytes: 60}}, list)

	r = mustRun(t, dir, "", "topics", "describe", "orders")
	out := lines(r.stdout)
	require.Len(t, out, 11)
	assert.Equal(t, []string{
		"Topic:              orders",
		"Partitions:         3",
		"Retention age:      7d",
		"Retention bytes:    1073741824 (1.0 GiB)",
		"Max message bytes:  65536",
		"Sync:               interval",
		"",
		"PARTITION  FIRST  NEXT  MESSAGES  BYTES",
		"0          0      0     0         0 B",
		"1          0      3     3         60 B",
		"2          0      0     0         0 B",
	}, out)

	r = mustRun(t, dir, "", "topics", "describe", "orders", "--json")
	var info topicInfo
	decode(t, r.stdout, &info)
	assert.Equal(t, topicConfigJSON{Partitions: 3, RetentionAgeMS: (7 * 24 * time.Hour).Milliseconds(),
		RetentionBytes: 1 << 30, MaxMessageBytes: 64 << 10, Sync: "interval"}, info.Config)
	assert.Equal(t, partitionInfo{Partition: 1, NextOffset: 3, Messages: 3, Bytes: 60}, info.Partitions[1])
}

func TestTopicsCreateDefaultsAndIfNotExists(t *testing.T) {
	dir := newTopic(t, "t", "2")
	r := mustRun(t, dir, "", "topics", "describe", "t")
	assert.Contains(t, r.stdout, "Retention age:      forever")
	assert.Contains(t, r.stdout, "Retention bytes:    unlimited")
	assert.Contains(t, r.stdout, "Sync:               always")

	r = mustRun(t, dir, "", "topics", "create", "t", "--partitions", "5", "--if-not-exists")
	assert.Equal(t, "Topic \"t\" exists already.\n", r.stdout)
	r = mustRun(t, dir, "", "topics", "describe", "t", "--json")
	var info topicInfo
	decode(t, r.stdout, &info)
	assert.Equal(t, 2, info.Config.Partitions, "--if-not-exists changes nothing")
}

func TestTopicsAddPartitionsAndDelete(t *testing.T) {
	dir := newTopic(t, "t", "2")
	r := mustRun(t, dir, "", "topics", "add-partitions", "t", "--total", "4")
	assert.Equal(t, "Topic \"t\" now has 4 partitions.\n", r.stdout)

	r = brookCmd(t, dir, "topics", "add-partitions", "t", "--total", "3")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "cannot grow from 4 to 3 partitions")

	r = mustRun(t, dir, "", "topics", "delete", "t", "--json")
	assert.JSONEq(t, `{"deleted":"t"}`, r.stdout)
	r = mustRun(t, dir, "", "topics", "list", "--json")
	assert.JSONEq(t, `[]`, r.stdout)
}

func TestTopicsErrors(t *testing.T) {
	dir := newTopic(t, "exists", "1")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"unknown topic", []string{"topics", "describe", "nope"}, exitError,
			[]string{`error: brook: unknown topic: "nope"`, "hint: list the topics with: brook topics list"}},
		{"delete unknown", []string{"topics", "delete", "nope"}, exitError, []string{"unknown topic"}},
		{"invalid name", []string{"topics", "create", "../escape", "--partitions", "1"}, exitError,
			[]string{"invalid topic name", "hint: names are 1 to 249 characters"}},
		{"exists", []string{"topics", "create", "exists", "--partitions", "2"}, exitError,
			[]string{"topic already exists", "--if-not-exists"}},
		{"missing partitions", []string{"topics", "create", "x"}, exitUsage,
			[]string{`required flag(s) "partitions" not set`, "Run 'brook topics create --help' for usage."}},
		{"zero partitions", []string{"topics", "create", "x", "--partitions", "0"}, exitUsage, []string{"--partitions must be 1 to 10000"}},
		{"bad sync", []string{"topics", "create", "x", "--partitions", "1", "--sync", "sometimes"}, exitUsage, []string{`--sync: "sometimes" is not one of`}},
		{"bad age", []string{"topics", "create", "x", "--partitions", "1", "--retention-age", "week"}, exitUsage, []string{"--retention-age"}},
		{"age that overflows", []string{"topics", "create", "x", "--partitions", "1", "--retention-age", "213504d"}, exitUsage, []string{"--retention-age", "longest retention"}},
		{"message limit above the library's", []string{"topics", "create", "x", "--partitions", "1", "--max-message-bytes", "1GiB"}, exitUsage, []string{"--max-message-bytes", "512MiB limit"}},
		{"bad size", []string{"topics", "create", "x", "--partitions", "1", "--retention-bytes", "lots"}, exitUsage, []string{"--retention-bytes"}},
		{"missing arg", []string{"topics", "describe"}, exitUsage, []string{"accepts 1 arg(s)"}},
		{"unknown command", []string{"topics", "rename"}, exitUsage, []string{`unknown command "rename"`}},
		{"unknown flag", []string{"topics", "list", "--colour"}, exitUsage, []string{"unknown flag: --colour"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := brookCmd(t, dir, tt.args...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			for _, s := range tt.stderr {
				assert.Contains(t, r.stderr, s)
			}
			assert.Empty(t, r.stdout)
		})
	}
}

func TestMissingDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{{"topics", "list"}, {"consume", "t"}, {"groups", "list"}, {"check"}} {
		r := brookCmd(t, dir, args...)
		assert.Equal(t, exitError, r.code, "%v", args)
		assert.Contains(t, r.stderr, "error: no data directory at "+dir, "%v", args)
		assert.NoDirExists(t, dir, "%v must not create the directory", args)
	}
}

// `brook topics list --dir ~/project` removed ~/project/tmp (the broker's
// load cleaned "its" staging directory). A directory that is not Brook's is
// refused, by every command, and left as it was.
func TestForeignDirectoryIsLeftAlone(t *testing.T) {
	project := t.TempDir()
	notes := filepath.Join(project, "tmp", "build", "notes.txt")
	require.NoError(t, os.MkdirAll(filepath.Dir(notes), 0o700))
	require.NoError(t, os.WriteFile(notes, []byte("mine"), 0o600))
	for _, args := range [][]string{{"topics", "list"}, {"groups", "list"}, {"check"}, {"topics", "create", "t", "--partitions", "1"}} {
		r := brookCmd(t, project, args...)
		assert.Equal(t, exitError, r.code, "%v", args)
		assert.Contains(t, r.stderr, "not a Brook data directory", "%v", args)
		assert.FileExists(t, notes, "%v", args)
	}
	ents, err := os.ReadDir(project)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "nothing was added")
}

func TestLockedDirectory(t *testing.T) {
	dir := newTopic(t, "t", "1")
	mustRun(t, dir, "", "consume", "t", "--group", "g") // so that groups/g exists
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })

	for _, args := range [][]string{
		{"topics", "create", "u", "--partitions", "1"}, {"produce", "t"},
		{"consume", "t", "--group", "g"}, {"groups", "delete", "g"}, {"check", "--repair"},
	} {
		r := brookIn(t, dir, "x\n", args...)
		assert.Equal(t, exitError, r.code, "%v", args)
		assert.Contains(t, r.stderr, "hint: another program (a broker, or another brook command) has this data directory open", "%v", args)
	}
	// The reading commands work on a held directory (read-only open).
	for _, args := range [][]string{{"topics", "list"}, {"topics", "describe", "t"}, {"groups", "list"}, {"consume", "t"}, {"check"}} {
		mustRun(t, dir, "", args...)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	r := brookCmd(t, dir)
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stdout, "Available Commands:")

	r = brookCmd(t, dir, "frobnicate")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `unknown command "frobnicate" for "brook"`)
}

func TestParseSizeAndAge(t *testing.T) {
	sizes := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"1048576", 1 << 20, true}, {"512KiB", 512 << 10, true}, {"1GB", 1e9, true},
		{"3 MiB", 3 << 20, true}, {"-1", 0, false}, {"1.5GB", 0, false}, {"GiB", 0, false},
	}
	for _, tt := range sizes {
		got, err := parseSize(tt.in)
		assert.Equal(t, tt.ok, err == nil, "parseSize(%q): %v", tt.in, err)
		assert.Equal(t, tt.want, got, "parseSize(%q)", tt.in)
	}
	ages := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"90m", 90 * time.Minute, true}, {"7d", 7 * 24 * time.Hour, true},
		{"-1h", 0, false}, {"d", 0, false}, {"week", 0, false},
	}
	for _, tt := range ages {
		got, err := parseAge(tt.in)
		assert.Equal(t, tt.ok, err == nil, "parseAge(%q): %v", tt.in, err)
		assert.Equal(t, tt.want, got, "parseAge(%q)", tt.in)
	}
}
