package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupConsumesPartThenDescribe(t *testing.T) {
	dir := newTopic(t, "t", "2")
	mustRun(t, dir, "a\nb\nc\nd\ne\nf\ng\nh\n", "produce", "t", "-p", "0")
	mustRun(t, dir, "x\ny\n", "produce", "t", "-p", "1")

	r := mustRun(t, dir, "", "groups", "list", "--json")
	assert.JSONEq(t, `[]`, r.stdout)

	r = mustRun(t, dir, "", "consume", "t", "--group", "g", "--count", "3", "--format", `%p:%v\n`)
	first := lines(r.stdout)
	require.Len(t, first, 3)

	r = mustRun(t, dir, "", "groups", "describe", "g", "--json")
	var info groupInfo
	decode(t, r.stdout, &info)
	assert.Equal(t, "g", info.Group)
	assert.Empty(t, info.Members, "the CLI's consumer left the group")
	require.Len(t, info.Partitions, 2)
	var committed, lag int64
	for _, p := range info.Partitions {
		assert.Equal(t, "t", p.Topic)
		assert.Equal(t, []int64{8, 2}[p.Partition], p.End)
		if p.Committed != nil {
			committed += *p.Committed
			assert.Equal(t, p.End-*p.Committed, p.Lag)
		}
		lag += p.Lag
	}
	assert.Equal(t, int64(3), committed, "what was printed is committed")
	assert.Equal(t, int64(7), lag)

	r = mustRun(t, dir, "", "groups", "describe", "g")
	out := lines(r.stdout)
	assert.Equal(t, "Group: g  Generation: "+strings.Fields(out[0])[3]+"  Members: 0", out[0])
	assert.Equal(t, []string{"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "OWNER"}, strings.Fields(out[2]))
	assert.Len(t, out, 5)

	r = mustRun(t, dir, "", "groups", "list")
	assert.Equal(t, []string{"GROUP  MEMBERS  TOPICS  LAG", "g      0        t       7"}, lines(r.stdout))

	// The rest, without --follow: the group goes on where it stopped and
	// stops at the end.
	r = mustRun(t, dir, "", "consume", "t", "--group", "g", "--format", `%p:%v\n`)
	rest := lines(r.stdout)
	assert.Len(t, rest, 7)
	assert.ElementsMatch(t, []string{"0:a", "0:b", "0:c", "0:d", "0:e", "0:f", "0:g", "0:h", "1:x", "1:y"},
		append(first, rest...), "every message once")

	var list []groupSummary
	decode(t, mustRun(t, dir, "", "groups", "list", "--json").stdout, &list)
	assert.Equal(t, []groupSummary{{Group: "g", Topics: []string{"t"}}}, list)

	r = mustRun(t, dir, "", "consume", "t", "--group", "g")
	assert.Empty(t, r.stdout, "nothing left")
}

func TestGroupStartLatest(t *testing.T) {
	dir := newTopic(t, "t", "1")
	mustRun(t, dir, "a\nb\n", "produce", "t")
	r := mustRun(t, dir, "", "consume", "t", "--group", "late", "--offset", "latest")
	assert.Empty(t, r.stdout)
}

func TestGroupsDescribeErrors(t *testing.T) {
	dir := newTopic(t, "t", "1")
	r := brookCmd(t, dir, "groups", "describe", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, `error: brook: unknown group: "nope"`)
	assert.Contains(t, r.stderr, "hint: list the groups with: brook groups list")
	assert.NoDirExists(t, dir+"/groups/nope", "describing must not create the group")

	r = brookCmd(t, dir, "groups", "describe", "no/slash")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "invalid group ID")

	r = brookCmd(t, dir, "groups", "describe")
	assert.Equal(t, exitUsage, r.code)
}
