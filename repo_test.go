package brook

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeQuickStartIsTheExample checks that the body of main in the
// README's quick start, and the package doc's quick start, are line for
// line the quick-start part of Example in example_test.go, which runs and
// checks its output: so the code they show compiles and works as written.
func TestReadmeQuickStartIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	quick := between(t, string(readme), "## Quick start", "func main() {\n", "\n}\n```")

	example, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	body := between(t, string(example), "func Example() {", "// The quick start, as in the README:\n", "\t// Output:")

	require.Greater(t, len(lines(quick)), 20, "the quick start was found")
	assert.Equal(t, lines(body), lines(quick), "README quick start and Example differ")

	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	pkg := between(t, string(doc), "// # Quick start", "(see Example for the whole program):\n", "// It closes what it opens")
	var code []string
	for _, l := range strings.Split(pkg, "\n") {
		code = append(code, strings.TrimPrefix(l, "//"))
	}
	assert.Equal(t, lines(body), lines(strings.Join(code, "\n")), "the package doc's quick start and Example differ")
}

// between returns the text of s after the first from that follows anchor,
// up to the next to.
func between(t *testing.T, s, anchor, from, to string) string {
	t.Helper()
	i := strings.Index(s, anchor)
	require.GreaterOrEqual(t, i, 0, "anchor %q", anchor)
	s = s[i:]
	i = strings.Index(s, from)
	require.GreaterOrEqual(t, i, 0, "start %q", from)
	s = s[i+len(from):]
	i = strings.Index(s, to)
	require.GreaterOrEqual(t, i, 0, "end %q", to)
	return s[:i]
}

// lines returns the non-blank lines of s, trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestRepositoryStandsAlone checks that no file of the repository refers
// to the design workspace it was developed beside, so that a fresh clone
// with nothing next to it builds and passes its tests.
func TestRepositoryStandsAlone(t *testing.T) {
	forbidden := []string{".." + "/shared", "/work" + "/shared"}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 1<<20 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range forbidden {
			assert.NotContains(t, string(data), f, "%s refers to a path outside the repository", path)
		}
		return nil
	})
	require.NoError(t, err)
}
