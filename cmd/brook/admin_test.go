package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

func TestGroupsResetOffsets(t *testing.T) {
	dir := newTopic(t, "t", "2")
	mustRun(t, dir, "a\nb\nc\n", "produce", "t", "-p", "0")
	mustRun(t, dir, "x\n", "produce", "t", "-p", "1")
	mustRun(t, dir, "", "consume", "t", "--group", "g")

	r := mustRun(t, dir, "", "groups", "reset-offsets", "g", "--topic", "t", "--to-earliest")
	assert.Equal(t, []string{
		`Reset group "g" on "t" to earliest.`,
		"",
		"TOPIC  PARTITION  PREVIOUS  NEW",
		"t      0          3         0",
		"t      1          1         0",
	}, lines(r.stdout))
	r = mustRun(t, dir, "", "consume", "t", "--group", "g", "--format", `%p:%v\n`)
	assert.Len(t, lines(r.stdout), 4, "the group reads everything again")

	var res []resetInfo
	decode(t, mustRun(t, dir, "", "groups", "reset-offsets", "g", "--topic", "t", "--partitions", "0", "--to-offset", "1", "--json").stdout, &res)
	require.Len(t, res, 1)
	assert.Equal(t, resetInfo{Topic: "t", Partition: 0, Previous: ptr(int64(3)), Offset: 1}, res[0])
	decode(t, mustRun(t, dir, "", "groups", "reset-offsets", "g", "--topic", "t", "--to-latest", "--json").stdout, &res)
	assert.Equal(t, int64(3), res[0].Offset)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	decode(t, mustRun(t, dir, "", "groups", "reset-offsets", "g", "--topic", "t", "--to-datetime", "2000-01-01", "--json").stdout, &res)
	assert.Equal(t, int64(0), res[0].Offset, "every message is after 2000")
	decode(t, mustRun(t, dir, "", "groups", "reset-offsets", "fresh", "--topic", "t", "--to-datetime", future, "--json").stdout, &res)
	assert.Equal(t, []resetInfo{{Topic: "t", Partition: 0, Offset: 3}, {Topic: "t", Partition: 1, Offset: 1}}, res,
		"a new group, at the end")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"g", "--topic", "t"}, exitUsage, "exactly one of --to-earliest"},
		{[]string{"g", "--topic", "t", "--to-earliest", "--to-latest"}, exitUsage, "exactly one of"},
		{[]string{"g", "--to-earliest"}, exitUsage, `"topic" not set`},
		{[]string{"g", "--topic", "t", "--to-offset", "-4"}, exitUsage, "--to-offset must be 0 or more"},
		{[]string{"g", "--topic", "t", "--to-datetime", "yesterday"}, exitUsage, "not a time"},
		{[]string{"g", "--topic", "t", "--partitions", "0,x", "--to-earliest"}, exitUsage, `"x" is not a partition`},
		{[]string{"g", "--topic", "t", "--partitions", "5", "--to-earliest"}, exitError, "invalid partition"},
		{[]string{"g", "--topic", "nope", "--to-earliest"}, exitError, "unknown topic"},
	} {
		r := brookCmd(t, dir, append([]string{"groups", "reset-offsets"}, c.args...)...)
		assert.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.want, "%v", c.args)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTopicsAlter(t *testing.T) {
	dir := newTopic(t, "t", "2", "--retention-age", "1d")
	r := mustRun(t, dir, "", "topics", "alter", "t", "--retention-age", "7d", "--max-message-bytes", "4MiB", "--sync", "never")
	assert.Equal(t, `Altered topic "t": retention age 7d, max message bytes 4194304 (4.0 MiB), sync never.`, lines(r.stdout)[0])

	var info topicInfo
	decode(t, mustRun(t, dir, "", "topics", "describe", "t", "--json").stdout, &info)
	assert.Equal(t, topicConfigJSON{Partitions: 2, RetentionAgeMS: (7 * 24 * time.Hour).Milliseconds(),
		MaxMessageBytes: 4 << 20, Sync: "never"}, info.Config, "persisted: a later command sees it")

	decode(t, mustRun(t, dir, "", "topics", "alter", "t", "--retention-age", "0", "--sync", "default", "--json").stdout, &info)
	assert.Equal(t, topicConfigJSON{Partitions: 2, MaxMessageBytes: 4 << 20, Sync: "always"}, info.Config,
		"0 and default return to the defaults; --max-message-bytes stays")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"t"}, exitUsage, "say what to change"},
		{[]string{"t", "--sync", "sometimes"}, exitUsage, "--sync"},
		{[]string{"t", "--retention-age", "soon"}, exitUsage, "--retention-age"},
		{[]string{"t", "--max-message-bytes", "2GiB"}, exitUsage, "--max-message-bytes"},
		{[]string{"nope", "--sync", "never"}, exitError, "unknown topic"},
	} {
		r := brookCmd(t, dir, append([]string{"topics", "alter"}, c.args...)...)
		assert.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.want, "%v", c.args)
	}
}

// TestParentsListByDefault: `brook topics` and `brook groups` alone list,
// as their list subcommands do; an unknown subcommand is still an error.
func TestParentsListByDefault(t *testing.T) {
	dir := newTopic(t, "t", "1")
	mustRun(t, dir, "a\n", "produce", "t")
	mustRun(t, dir, "", "consume", "t", "--group", "g")
	for _, parent := range []string{"topics", "groups"} {
		assert.Equal(t, mustRun(t, dir, "", parent, "list").stdout, mustRun(t, dir, "", parent).stdout, parent)
		assert.Equal(t, mustRun(t, dir, "", parent, "list", "--json").stdout, mustRun(t, dir, "", parent, "--json").stdout, parent)
		r := brookCmd(t, dir, parent, "nope")
		assert.Equal(t, exitUsage, r.code, parent)
	}
}

// TestChangesRefusedOnAHeldDirectory: a command that changes data says
// clearly that another program holds the directory, and which.
func TestChangesRefusedOnAHeldDirectory(t *testing.T) {
	dir := newTopic(t, "t", "1")
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	for _, args := range [][]string{
		{"topics", "alter", "t", "--sync", "never"},
		{"groups", "reset-offsets", "g", "--topic", "t", "--to-earliest"},
	} {
		r := brookCmd(t, dir, args...)
		assert.Equal(t, exitError, r.code, "%v", args)
		assert.Contains(t, r.stderr, fmt.Sprintf("held by pid %d (", os.Getpid()), "%v", args)
		assert.Contains(t, r.stderr, "hint: another program", "%v", args)
	}
}

// TestTopicsDescribeShowsFailedPartition: a partition whose directory is
// missing is shown failed, with why, in the table and in --json.
func TestTopicsDescribeShowsFailedPartition(t *testing.T) {
	dir := newTopic(t, "t", "2")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "t", "1")))
	var info topicInfo
	decode(t, mustRun(t, dir, "", "topics", "describe", "t", "--json").stdout, &info)
	require.Len(t, info.Partitions, 2)
	assert.Empty(t, info.Partitions[0].Failure)
	assert.Contains(t, info.Partitions[1].Failure, "partition directory is missing")
	out := lines(mustRun(t, dir, "", "topics", "describe", "t").stdout)
	assert.Contains(t, out, "PARTITION  FIRST  NEXT  MESSAGES  BYTES  FAILURE")
	assert.Regexp(t, `^1 .* brook: partition failed: .*missing`, out[len(out)-1])
}
