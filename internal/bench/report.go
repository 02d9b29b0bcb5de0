package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// results are the samples of one run, one per repetition.
type results struct {
	rawSync, rawNoSync []float64 // msgs/s
	rawSyncEnc         []float64 // msgs/s: C1e
	rawNoSyncEnc       []float64 // msgs/s, entries of encSize bytes
	encSize            int       // a benchmark record's entry size in storage
	rawLat             []latency
	w1, w2, w2one, w3  []float64 // msgs/s
	w1batch, w3batch   []float64 // msgs/s, PublishBatch
	w4                 []float64 // msgs/s
	w5never, w5always  []latency
	w6                 [][]float64 // per repetition, msgs/s of each group
	w7                 []float64   // ms
	w8                 []reopenSize
}

// Report is the outcome of Run.
type Report struct {
	Env
	Config Config `json:"config"`
	Rows   []Row  `json:"rows"`
}

// Env is when and on what a run was measured. bench/compare reports it
// too.
type Env struct {
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	GoVersion  string    `json:"go_version"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	CPUs       int       `json:"cpus"`
	GOMAXPROCS int       `json:"gomaxprocs"`
}

// NewEnv describes this process's machine, for a run started at start
// and ending now.
func NewEnv(start time.Time) Env {
	return Env{
		Started: start, Seconds: time.Since(start).Seconds(),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
}

// Row is one line of the report: a ceiling (ID C1, C2, C3) or one figure
// of a workload (ID 1 to 8, with a letter when a workload has several).
type Row struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Unit     string    `json:"unit"`
	Median   float64   `json:"median"`
	Samples  []float64 `json:"samples"`
	Ceiling  string    `json:"ceiling,omitempty"` // ID of the ceiling row
	Ratio    float64   `json:"ratio,omitempty"`   // Median / the ceiling's median
	Target   string    `json:"target,omitempty"`
	Met      string    `json:"met,omitempty"` // "yes", "no", or "" without a target
	Note     string    `json:"note,omitempty"`
	MBPerSec float64   `json:"mb_per_s,omitempty"` // value bytes, for msgs/s rows
}

// Row units.
const (
	unitMsgs = "msgs/s"
	unitMs   = "ms"
	unitSec  = "s"
	unitMiB  = "MiB"
)

// Median returns the median of xs, 0 for none. bench/compare uses it too.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func pick[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// report builds the rows from the samples, with targets and ratios.
func (r *runner) report() Report {
	rb := &rowBuilder{cfg: r.cfg}
	rb.ceilings(&r.res)
	rb.produce(&r.res)
	rb.consume(&r.res)
	rb.latency(&r.res)
	rb.reopen(r.res.w8)
	slices.SortStableFunc(rb.rows, func(a, b Row) int { return rowOrder(a.ID) - rowOrder(b.ID) })
	return Report{Env: NewEnv(r.start), Config: r.cfg, Rows: rb.rows}
}

// rowOrder sorts the ceilings first, then the workloads by number.
func rowOrder(id string) int {
	if id == "" || id[0] == 'C' {
		return 0
	}
	return int(id[0]-'0') + 1
}

// rowBuilder accumulates the rows of a report; rows refer to ceilings
// added before them.
type rowBuilder struct {
	cfg  Config
	rows []Row
}

// add appends row, with its median, and returns its index.
func (rb *rowBuilder) add(row Row) int {
	row.Median = Median(row.Samples)
	if row.Unit == unitMsgs {
		row.MBPerSec = row.Median * float64(rb.cfg.RecordSize) / 1e6
	}
	rb.rows = append(rb.rows, row)
	return len(rb.rows) - 1
}

// median returns the median of row id, or 0 if there is no such row.
func (rb *rowBuilder) median(id string) float64 {
	for _, row := range rb.rows {
		if row.ID == id {
			return row.Median
		}
	}
	return 0
}

// ratio sets row i's target to at least min times ceiling row ceilID.
func (rb *rowBuilder) ratio(i int, ceilID string, min float64) {
	row := &rb.rows[i]
	row.Target = fmt.Sprintf("≥ %.2f× %s", min, ceilID)
	if ceil := rb.median(ceilID); ceil > 0 {
		row.Ceiling, row.Ratio = ceilID, row.Median/ceil
		row.Met = yesNo(row.Ratio >= min)
	}
}

func (rb *rowBuilder) atLeast(i int, min float64, label string) {
	rb.rows[i].Target, rb.rows[i].Met = "≥ "+label, yesNo(rb.rows[i].Median >= min)
}

func (rb *rowBuilder) atMost(i int, limit float64, label string) {
	rb.rows[i].Target, rb.rows[i].Met = "≤ "+label, yesNo(rb.rows[i].Median <= limit)
}

func (rb *rowBuilder) ceilings(res *results) {
	c := rb.cfg
	if len(res.rawSync) > 0 {
		rb.add(Row{ID: "C1", Name: fmt.Sprintf("raw tidwall/wal, %d logs in parallel, batch %d + fsync", c.Partitions, c.Batch),
			Unit: unitMsgs, Samples: res.rawSync})
	}
	if len(res.rawNoSync) > 0 {
		rb.add(Row{ID: "C2", Name: fmt.Sprintf("raw tidwall/wal, %d logs in parallel, batch %d, no fsync", c.Partitions, c.Batch),
			Unit: unitMsgs, Samples: res.rawNoSync})
	}
	if len(res.rawSyncEnc) > 0 {
		rb.add(Row{ID: "C1e", Name: fmt.Sprintf("raw tidwall/wal as C1, entries of %d B (a %d-byte record as format 1 encodes it)",
			res.encSize, c.RecordSize), Unit: unitMsgs, Samples: res.rawSyncEnc})
	}
	if len(res.rawNoSyncEnc) > 0 {
		rb.add(Row{ID: "C2e", Name: fmt.Sprintf("raw tidwall/wal as C2, entries of %d B (a %d-byte record as format 1 encodes it)",
			res.encSize, c.RecordSize), Unit: unitMsgs, Samples: res.rawNoSyncEnc})
	}
	if len(res.rawLat) > 0 {
		rb.add(Row{ID: "C3", Name: fmt.Sprintf("raw tidwall/wal write+fsync of 1 entry, %d/s, p99", c.LatencyRate),
			Unit: unitMs, Samples: pick(res.rawLat, func(l latency) float64 { return l.P99 }),
			Note: latNote(res.rawLat)})
	}
}

func (rb *rowBuilder) produce(res *results) {
	c := rb.cfg
	window := fmt.Sprintf("window %d×%d msgs per partition", c.Depth, c.Batch)
	oneBatch := fmt.Sprintf("one batch of %d in flight per partition", c.Batch)
	rb.produceRow(res.w1, "1", "produce durable (SyncAlways), PublishAsync+Flush", window, "C1e")
	rb.produceRow(res.w1batch, "1b", "produce durable (SyncAlways), PublishBatch", oneBatch, "C1e")
	bound, boundNote := 0.0, ""
	if len(res.rawLat) > 0 {
		if p50 := Median(pick(res.rawLat, func(l latency) float64 { return l.P50 })); p50 > 0 {
			bound = float64(c.SyncGoroutines) / (p50 / 1e3)
			boundNote = fmt.Sprintf("; bound %d callers / fsync p50 %.3f ms = %s", c.SyncGoroutines, p50, SI(bound))
		}
	}
	if len(res.w2) > 0 {
		i := rb.add(Row{ID: "2a", Name: fmt.Sprintf("produce durable, %d goroutines × sync Publish, %d partitions", c.SyncGoroutines, c.Partitions),
			Unit: unitMsgs, Samples: res.w2, Note: "one fsync per group commit" + boundNote})
		// The target is a share of the bound the disk sets when each
		// caller waits for one fsync: callers ÷ C3's fsync p50.
		row := &rb.rows[i]
		row.Target = "≥ 0.60× bound"
		if bound > 0 {
			row.Ceiling, row.Ratio = "bound", row.Median/bound
			row.Met = yesNo(row.Ratio >= 0.6)
		}
	}
	if len(res.w2one) > 0 {
		i := rb.add(Row{ID: "2b", Name: fmt.Sprintf("produce durable, %d goroutines × sync Publish, 1 partition", c.SyncGoroutines),
			Unit: unitMsgs, Samples: res.w2one, Note: "all callers share one group commit" + boundNote})
		rb.atLeast(i, 300e3, "300k")
	}
	rb.produceRow(res.w3, "3", "produce SyncNever, PublishAsync+Flush", window, "C2e")
	rb.produceRow(res.w3batch, "3b", "produce SyncNever, PublishBatch", oneBatch, "C2e")
}

// produceRow adds a row of workload 1 or 3 (when it was measured), with
// its target of 0.9× ceil: the raw wal writing entries of format 1's size
// for the same records (C1e, C2e), and its ratio to the ceiling of the
// benchmark's plain record size (C1, C2) as a note.
func (rb *rowBuilder) produceRow(samples []float64, id, name, note, ceil string) {
	if len(samples) == 0 {
		return
	}
	i := rb.add(Row{ID: id, Name: fmt.Sprintf("%s, %d partitions", name, rb.cfg.Partitions),
		Unit: unitMsgs, Samples: samples, Note: note})
	rb.ratio(i, ceil, 0.9)
	plain := strings.TrimSuffix(ceil, "e")
	if m := rb.median(plain); m > 0 {
		rb.rows[i].Note += fmt.Sprintf("; %.2f× %s", rb.rows[i].Median/m, plain)
	}
}

func (rb *rowBuilder) consume(res *results) {
	c := rb.cfg
	if len(res.w4) > 0 {
		i := rb.add(Row{ID: "4", Name: fmt.Sprintf("consume, group of %d, %d partitions, full topic of %s",
			c.ConsumeMembers, c.Partitions, SI(float64(c.ConsumeRecords))), Unit: unitMsgs, Samples: res.w4})
		rb.atLeast(i, 6e6, "6M")
	}
	if len(res.w6) > 0 {
		i := rb.add(Row{ID: "6", Name: fmt.Sprintf("%d groups lagging in different sealed segments, slowest group", c.LagGroups),
			Unit: unitMsgs, Samples: pick(res.w6, slices.Min[[]float64]), Note: lagNote(res.w6)})
		rb.atLeast(i, 1e6, "1M each")
	}
	if len(res.w7) > 0 {
		i := rb.add(Row{ID: "7", Name: fmt.Sprintf("rebalance: 1 member joins %d over %d partitions", c.RebalanceMembers, c.RebalancePartitions),
			Unit: unitMs, Samples: res.w7, Note: fmt.Sprintf("until every partition delivers again; max %.1f ms; publish pace %v",
				slices.Max(res.w7), c.RebalancePace)})
		rb.atMost(i, 50, "50 ms")
	}
}

func (rb *rowBuilder) latency(res *results) {
	c := rb.cfg
	p99 := func(l latency) float64 { return l.P99 }
	if len(res.w5never) > 0 {
		i := rb.add(Row{ID: "5a", Name: fmt.Sprintf("end-to-end latency, SyncNever, %d msgs/s, 1 partition, p99", c.LatencyRate),
			Unit: unitMs, Samples: pick(res.w5never, p99), Note: latNote(res.w5never)})
		rb.atMost(i, 0.3, "0.3 ms")
	}
	if len(res.w5always) > 0 {
		i := rb.add(Row{ID: "5b", Name: fmt.Sprintf("end-to-end latency, SyncAlways, %d msgs/s, 1 partition, p99", c.LatencyRate),
			Unit: unitMs, Samples: pick(res.w5always, p99), Note: latNote(res.w5always)})
		if ceil := rb.median("C3"); ceil > 0 {
			limit := ceil + 0.5
			rb.atMost(i, limit, fmt.Sprintf("C3 + 0.5 ms = %.3f ms", limit))
			rb.rows[i].Ceiling, rb.rows[i].Ratio = "C3", rb.rows[i].Median/ceil
		}
	}
}

// reopen adds workload 8's rows: open time at each size, then memory at
// each size, flat meaning at most 1.5 times the memory at the first size.
func (rb *rowBuilder) reopen(sizes []reopenSize) {
	letter := 'a'
	next := func() string { id := "8" + string(letter); letter++; return id }
	for _, s := range sizes {
		i := rb.add(Row{ID: next(), Name: fmt.Sprintf("reopen %s records in %d partitions: time", s.label(), rb.cfg.ReopenPartitions),
			Unit: unitSec, Samples: pick(s.Reps, func(x ReopenResult) float64 { return x.OpenSeconds }),
			Note: "page cache warm"})
		rb.atMost(i, 1, "1 s")
	}
	mem := func(x ReopenResult) float64 {
		if x.PeakRSSBytes > 0 {
			return float64(x.PeakRSSBytes) / (1 << 20)
		}
		return float64(x.PeakHeapBytes) / (1 << 20)
	}
	var first float64
	var firstID string
	for k, s := range sizes {
		what := "peak RSS of the opening process"
		if len(s.Reps) > 0 && s.Reps[0].PeakRSSBytes == 0 {
			what = "peak Go heap during open"
		}
		after := Median(pick(s.Reps, func(x ReopenResult) float64 { return float64(x.HeapAfterBytes) / (1 << 20) }))
		i := rb.add(Row{ID: next(), Name: fmt.Sprintf("reopen %s records in %d partitions: %s", s.label(), rb.cfg.ReopenPartitions, what),
			Unit: unitMiB, Samples: pick(s.Reps, mem), Note: fmt.Sprintf("live heap after open %.0f MiB", after)})
		if k == 0 {
			first, firstID = rb.rows[i].Median, rb.rows[i].ID
			continue
		}
		rb.atMost(i, 1.5*first, fmt.Sprintf("1.5× %s (flat)", firstID))
		if first > 0 {
			rb.rows[i].Ceiling, rb.rows[i].Ratio = firstID, rb.rows[i].Median/first
		}
	}
}

func (s reopenSize) label() string { return SI(float64(s.Records)) }

func latNote(ls []latency) string {
	p50 := Median(pick(ls, func(l latency) float64 { return l.P50 }))
	mx := slices.Max(pick(ls, func(l latency) float64 { return l.Max }))
	s := fmt.Sprintf("p50 %.3f ms, max %.3f ms (worst rep)", p50, mx)
	if ack := Median(pick(ls, func(l latency) float64 { return l.Ack })); ack > 0 {
		s += fmt.Sprintf("; publish→ack p99 %.3f ms", ack)
	}
	if open := Median(pick(ls, func(l latency) float64 { return l.Open })); open > 0 {
		s += fmt.Sprintf("; p99 from scheduled start (incl. wait behind the previous fsync) %.3f ms", open)
	}
	return s
}

func lagNote(reps [][]float64) string {
	if len(reps) == 0 {
		return ""
	}
	per := make([]float64, len(reps[0]))
	for g := range per {
		per[g] = Median(pick(reps, func(x []float64) float64 { return x[g] }))
	}
	return "median per group: " + siList(per) + " msgs/s"
}

// SI formats n with an SI suffix and three significant digits: 2.41M.
// bench/compare uses it too.
func SI(n float64) string {
	abs := math.Abs(n)
	switch {
	case abs >= 1e9:
		return fmt.Sprintf("%.3gG", n/1e9)
	case abs >= 1e6:
		return fmt.Sprintf("%.3gM", n/1e6)
	case abs >= 1e3:
		return fmt.Sprintf("%.3gk", n/1e3)
	}
	return fmt.Sprintf("%.3g", n)
}

func siList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = SI(x)
	}
	return strings.Join(s, ", ")
}

// format renders a value in its unit.
func format(v float64, unit string) string {
	switch unit {
	case unitMsgs:
		return SI(v)
	case unitMs:
		if v >= 100 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.3g", v)
	case unitSec:
		return fmt.Sprintf("%.3f", v)
	case unitMiB:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprint(v)
}

// WriteTable writes the report as an aligned table for people.
func (rep Report) WriteTable(w io.Writer) error {
	mode := "full"
	if rep.Config.Quick {
		mode = "quick"
	}
	fmt.Fprintf(w, "brook bench (%s): median of %d repetition(s), %d-byte records; %s %s/%s, %d CPUs; %.0f s\n",
		mode, rep.Config.Reps, rep.Config.RecordSize, rep.GoVersion, rep.OS, rep.Arch, rep.CPUs, rep.Seconds)
	fmt.Fprintln(w, "ratios are to ceilings (C*) measured in this same run; the machine is noisy, compare within a run")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tworkload\tmedian\tunit\tMB/s\tratio\ttarget\tmet\tnote")
	for _, r := range rep.Rows {
		mbps, ratio := "", ""
		if r.MBPerSec > 0 {
			mbps = fmt.Sprintf("%.0f", r.MBPerSec)
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
			if r.Ceiling != "" {
				ratio += " " + r.Ceiling
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, format(r.Median, r.Unit), r.Unit,
			mbps, ratio, orDash(r.Target), orDash(r.Met), r.Note)
	}
	return tw.Flush()
}

// WriteJSON writes the report as indented JSON for machines.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
