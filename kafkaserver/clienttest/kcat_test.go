package clienttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kcatPath returns the kcat binary; without it the test skips, or fails
// when BROOK_REQUIRE_TOOLS=1.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("BROOK_REQUIRE_TOOLS") == "1" {
			t.Fatal("kcat not found and BROOK_REQUIRE_TOOLS=1 (Debian package kcat)")
		}
		t.Skip("kcat not found (Debian package kcat); set BROOK_REQUIRE_TOOLS=1 to fail instead")
	}
	return p
}

func kcat(t *testing.T, e *env, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcatPath(t), append([]string{"-b", e.addr, "-q"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "kcat %v: %s", args, errb.String())
	return out.String()
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

func TestKcatMetadata(t *testing.T) {
	e := start(t)
	e.topic(t, "meta", 3)
	var md struct {
		Brokers []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []struct {
				Partition int `json:"partition"`
				Leader    int `json:"leader"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	require.NoError(t, json.Unmarshal([]byte(kcat(t, e, "", "-L", "-J")), &md))
	require.Len(t, md.Brokers, 1)
	assert.Equal(t, e.addr, md.Brokers[0].Name)
	require.Len(t, md.Topics, 1)
	assert.Equal(t, "meta", md.Topics[0].Topic)
	assert.Len(t, md.Topics[0].Partitions, 3)
}

func TestKcatProduceConsumeCodecsAndHeaders(t *testing.T) {
	e := start(t)
	e.topic(t, "kc", 2)
	var want []string
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		kcat(t, e, "k1:"+codec+"-a\nk2:"+codec+"-b\n", "-P", "-t", "kc", "-K", ":", "-z", codec, "-H", "codec="+codec)
		want = append(want, "k1="+codec+"-a codec="+codec, "k2="+codec+"-b codec="+codec)
	}
	out := kcat(t, e, "", "-C", "-t", "kc", "-o", "beginning", "-e", "-f", "%k=%s %h\n")
	assert.Equal(t, sortedLines(strings.Join(want, "\n")), sortedLines(out))
}

func TestKcatGroupConsumeAndResume(t *testing.T) {
	e := start(t)
	e.topic(t, "kg", 3)
	kcat(t, e, strings.Join(numbered("first", 9), "\n")+"\n", "-P", "-t", "kg")
	group := []string{"-G", "kcat-group", "kg", "-e", "-f", "%s\n", "-X", "auto.offset.reset=earliest",
		"-X", "enable.auto.commit=true", "-X", "auto.commit.interval.ms=100"}
	assert.Equal(t, sortedLines(strings.Join(numbered("first", 9), "\n")), sortedLines(kcat(t, e, "", group...)))
	var total int64
	for _, off := range e.committed(t, "kcat-group") {
		total += off
	}
	assert.Equal(t, int64(9), total, "kcat committed what it read")
	kcat(t, e, strings.Join(numbered("second", 4), "\n")+"\n", "-P", "-t", "kg")
	assert.Equal(t, sortedLines(strings.Join(numbered("second", 4), "\n")), sortedLines(kcat(t, e, "", group...)),
		"a second run resumes at the committed offsets")
}
