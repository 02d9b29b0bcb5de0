package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/brookmq/brook/internal/bench"
)

// Report is the outcome of Run.
type Report struct {
	bench.Env
	Versions map[string]string `json:"versions"`
	Config   Config            `json:"config"`
	Rows     []Row             `json:"rows"`
}

// Row is one system's figure for one workload.
type Row struct {
	ID       string    `json:"id"`               // workload: A1, A2, B or C
	Workload string    `json:"workload"`         // what the workload does
	System   string    `json:"system"`           // brook, brook-kafka, kfake, kgo-null or jetstream
	Mode     string    `json:"mode"`             // how this system runs it; "n/a" if it cannot
	Median   float64   `json:"median"`           // msgs/s (C: p99 in ms); 0 for n/a
	MBPerSec float64   `json:"mb_per_s"`         // value bytes only
	Samples  []float64 `json:"samples"`          // msgs/s (C: p99 in ms), one per repetition
	P50      float64   `json:"p50_ms,omitempty"` // C: median of the p50s
	Max      float64   `json:"max_ms,omitempty"` // C: the largest latency of any repetition
	// Ratio is Brook's median / this median (C: this p99 / Brook's); above
	// 1, Brook is faster. 0 when unknown.
	Ratio float64 `json:"ratio"`
	Note  string  `json:"note,omitempty"`
}

// report builds the rows from the samples.
func (r *runner) report() Report {
	c := r.cfg
	var rows []Row
	for _, w := range workloads {
		brook := bench.Median(rates(r.samples[w.id()+"/brook"]))
		for _, name := range c.Systems {
			sys := newSystem(name)
			row := Row{ID: w.id(), Workload: w.title(), System: name, Mode: sys.mode(w, c)}
			if row.Mode == "" {
				row.Mode, row.Note = "n/a", "no such mode"
				rows = append(rows, row)
				continue
			}
			ss := r.samples[w.id()+"/"+name]
			row.Samples = rates(ss)
			row.Median = bench.Median(row.Samples)
			row.Note = noteFor(ss, c)
			switch {
			case w == latencyDurable:
				row.P50 = bench.Median(p50s(ss))
				for _, s := range ss {
					row.Max = max(row.Max, s.max)
				}
				if brook > 0 && row.Median > 0 {
					row.Ratio = row.Median / brook
				}
				row.Note = strings.TrimPrefix(fmt.Sprintf("%s; p50 %.3f ms, max %.3f ms", row.Note, row.P50, row.Max), "; ")
			case row.Median > 0:
				row.MBPerSec = row.Median * float64(c.RecordSize) / 1e6
				if brook > 0 {
					row.Ratio = brook / row.Median
				}
			}
			rows = append(rows, row)
		}
	}
	return Report{Env: bench.NewEnv(r.start), Versions: versions(), Config: c, Rows: rows}
}

// noteFor says how far the samples spread and whether ProduceCap cut them.
func noteFor(ss []sample, c Config) string {
	var notes []string
	if len(ss) > 1 {
		rs := rates(ss)
		if ss[0].max > 0 { // latency: ms
			notes = append(notes, fmt.Sprintf("p99 reps %.3f–%.3f ms", slices.Min(rs), slices.Max(rs)))
		} else {
			notes = append(notes, fmt.Sprintf("reps %s–%s", bench.SI(slices.Min(rs)), bench.SI(slices.Max(rs))))
		}
	}
	var capped []string
	for _, s := range ss {
		if s.count < s.want {
			capped = append(capped, bench.SI(float64(s.count)))
		}
	}
	if len(capped) > 0 {
		notes = append(notes, fmt.Sprintf("capped at %v: %s of %s msgs", c.ProduceCap,
			strings.Join(capped, "/"), bench.SI(float64(ss[0].want))))
	}
	return strings.Join(notes, "; ")
}

func p50s(ss []sample) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = s.p50
	}
	return out
}

func rates(ss []sample) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = s.rate
	}
	return out
}

// versions are the versions of the compared modules in this binary.
func versions() map[string]string {
	out := map[string]string{}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/twmb/franz-go", "github.com/twmb/franz-go/pkg/kfake",
			"github.com/nats-io/nats-server/v2", "github.com/nats-io/nats.go":
			out[d.Path] = d.Version
		}
	}
	return out
}

// WriteTable writes the report as a table for people.
func (rep Report) WriteTable(w io.Writer) error {
	c := rep.Config
	mode := "full"
	if c.Quick {
		mode = "quick"
	}
	v := func(p string) string {
		if s := rep.Versions[p]; s != "" {
			return s
		}
		return "?"
	}
	fmt.Fprintf(w, "brook compare (%s): median of %d repetition(s), %s messages of %d bytes, %d partitions; %s %s/%s, %d CPUs; %.0f s\n",
		mode, c.Reps, bench.SI(float64(c.Messages)), c.RecordSize, c.Partitions, rep.GoVersion, rep.OS, rep.Arch, rep.CPUs, rep.Seconds)
	fmt.Fprintf(w, "kfake %s with kgo (franz-go %s); JetStream: nats-server %s with nats.go %s\n\n",
		v("github.com/twmb/franz-go/pkg/kfake"), v("github.com/twmb/franz-go"),
		v("github.com/nats-io/nats-server/v2"), v("github.com/nats-io/nats.go"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tworkload\tsystem\tmode\tmedian (msgs/s; C: p99)\tMB/s\tBrook ×\tnote")
	for _, r := range rep.Rows {
		fig, mb, ratio := "n/a", "", ""
		switch {
		case r.Median > 0 && r.ID == latencyDurable.id():
			fig = fmt.Sprintf("p99 %.3f ms", r.Median)
		case r.Median > 0:
			fig, mb = bench.SI(r.Median), fmt.Sprintf("%.1f", r.MBPerSec)
		}
		if r.Ratio > 0 && r.System != "brook" {
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Workload, r.System, r.Mode, fig, mb, ratio, r.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, `
Brook × is Brook's median divided by that system's median (above 1: Brook is faster; for C, the system's p99 over
Brook's). MB/s counts value bytes only. C publishes at the paced rate to partition 0 of the durable instance after A1
and measures each message from just before its publish call to its delivery to a consumer waiting at the end.
kgo-null is the ceiling of the Kafka rows: the same client against a server that stores nothing.
All systems run inside this process, on a fresh temporary directory per produce run; Brook is called directly, while
the others are reached by their clients over localhost TCP, as their APIs require. Every produce run uses
one publishing goroutine per partition (JetStream: per subject of its one stream). The consume row reads what the
not-synced run of the same repetition wrote. The machine is shared and noisy: compare within one run.
`)
	return err
}

// WriteJSON writes the report as indented JSON.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
