package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// emit prints v as indented JSON under --json, and otherwise calls table
// with an aligned-columns writer that it flushes afterwards.
func (a *app) emit(v any, table func(w io.Writer)) error {
	if a.json {
		return writeJSON(a.stdout, v)
	}
	return a.table(table)
}

// table calls fill with an aligned-columns writer on stdout and flushes it.
func (a *app) table(fill func(w io.Writer)) error {
	tw := newTable(a.stdout)
	fill(tw)
	return tw.Flush()
}

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a tabwriter for columns separated by tabs.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one tab-separated table row.
func row(w io.Writer, cols ...any) {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

// humanBytes formats n bytes for people: 512 B, 4.0 KiB, 1.5 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// humanDuration formats a retention age; zero means forever.
func humanDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// humanLimit formats a byte limit for people; zero means none.
func humanLimit(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d (%s)", n, humanBytes(n))
}

// plural returns "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// orDash returns s, or "-" when s is empty, for table cells.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
