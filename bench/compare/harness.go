package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook/internal/bench"
)

// Config sizes a run. Zero fields take the defaults of the mode, given with
// each field as full / quick.
type Config struct {
	// Dir is where the run makes its temporary directory, removed at the
	// end. Default: os.TempDir().
	Dir string `json:"dir,omitempty"`

	// Quick selects small sizes and one repetition. Default: false.
	Quick bool `json:"quick"`

	// Reps is how many times every measurement is repeated; the table shows
	// medians. Default: 3 / 1.
	Reps int `json:"reps"`

	// Messages is how many messages one produce run publishes (unless
	// ProduceCap stops it first) over all partitions; the consume workload
	// reads what the unsynced produce run of the same repetition wrote.
	// Default: 2M / 100k.
	Messages int `json:"messages"`

	// RecordSize is the value size of every message. Default: 100.
	RecordSize int `json:"record_size"`

	// Partitions is the partition count of the topic (Brook, kfake) and
	// the number of subjects of the single stream (JetStream). Default: 8.
	Partitions int `json:"partitions"`

	// Window is how many messages one publishing goroutine (one per
	// partition) may have unacknowledged, for the systems whose client
	// leaves that bound to the caller (Brook: Window/1000 chunks of 1000
	// PublishAsync calls; JetStream: PublishAsyncMaxPending). kgo bounds
	// its buffer itself, see kafka.go. Default: 4000.
	Window int `json:"window"`

	// ProduceCap stops a produce run that has not finished by then: no new
	// message is sent after it, the outstanding ones are awaited, and the
	// rate is computed over the acknowledged ones (the table says so). It
	// keeps a system that fsyncs every message (JetStream with
	// sync_always) from taking many minutes. Default: 15s / 5s.
	ProduceCap time.Duration `json:"produce_cap_ns"`

	// BrookMembers is the size of Brook's consumer group in the consume
	// workload. Default: 1, one consumer like the other systems; Brook's
	// Run already reads every assigned partition on its own goroutine.
	// (`brook bench` workload 4 uses a group of 4.)
	BrookMembers int `json:"brook_members"`

	// LatencyRate is the pace of the end-to-end latency workload (C), in
	// messages per second. Default: 2000.
	LatencyRate int `json:"latency_rate"`

	// LatencyDuration is how long one latency run publishes. Default:
	// 3s / 1s.
	LatencyDuration time.Duration `json:"latency_duration_ns"`

	// Systems selects systems by name (brook, brook-kafka, kfake,
	// kgo-null, jetstream). Default: all five.
	Systems []string `json:"systems,omitempty"`
}

// withDefaults fills the zero fields for the mode and validates the rest.
func (c Config) withDefaults() (Config, error) {
	pick := func(full, quick int) int {
		if c.Quick {
			return quick
		}
		return full
	}
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	set(&c.Reps, pick(3, 1))
	set(&c.Messages, pick(2_000_000, 100_000))
	set(&c.RecordSize, 100)
	set(&c.Partitions, 8)
	set(&c.Window, 4000)
	set(&c.BrookMembers, 1)
	set(&c.LatencyRate, 2000)
	if c.LatencyDuration == 0 {
		c.LatencyDuration = time.Duration(pick(3, 1)) * time.Second
	}
	if c.ProduceCap == 0 {
		c.ProduceCap = time.Duration(pick(15, 5)) * time.Second
	}
	if len(c.Systems) == 0 {
		c.Systems = systemNames()
	}
	for _, n := range []int{c.Reps, c.Messages, c.RecordSize, c.Partitions, c.Window, c.BrookMembers, c.LatencyRate} {
		if n < 0 {
			return c, errors.New("compare: negative size in config")
		}
	}
	if c.ProduceCap < 0 || c.LatencyDuration < 0 {
		return c, errors.New("compare: negative ProduceCap or LatencyDuration")
	}
	if c.RecordSize < 8 {
		return c, errors.New("compare: RecordSize below 8 (the latency workload stamps values)")
	}
	if c.Messages < c.Partitions {
		return c, errors.New("compare: fewer messages than partitions")
	}
	for _, s := range c.Systems {
		if !slices.Contains(systemNames(), s) {
			return c, fmt.Errorf("compare: unknown system %q (want one of %v)", s, systemNames())
		}
	}
	return c, nil
}

// workload identifies one of the measured workloads.
type workload int

const (
	produceDurable  workload = iota // A1
	produceUnsynced                 // A2
	consumeAll                      // B
	latencyDurable                  // C
)

var workloads = []workload{produceDurable, produceUnsynced, consumeAll, latencyDurable}

// id and title name a workload in the table.
func (w workload) id() string { return [...]string{"A1", "A2", "B", "C"}[w] }

func (w workload) title() string {
	return [...]string{"produce, durable", "produce, not synced", "consume full topic, 1 consumer",
		"end-to-end latency, durable, paced"}[w]
}

// producePlan is what one produce run publishes.
type producePlan struct {
	topic  string
	parts  int
	total  int
	value  []byte
	window int
	capped *atomic.Bool // set at ProduceCap: send nothing new once it is
}

// over reports whether the run must stop sending: ProduceCap has passed or
// ctx has ended.
func (p producePlan) over(ctx context.Context) bool { return p.capped.Load() || ctx.Err() != nil }

// share is partition p's share of the plan's messages.
func (p producePlan) share(part int) int {
	n := p.total / p.parts
	if part < p.total%p.parts {
		n++
	}
	return n
}

// system is one engine under comparison.
type system interface {
	// name is the system's name in flags and tables.
	name() string
	// mode describes how the system runs workload w, for the table; ""
	// means it has no such mode, shown as n/a.
	mode(w workload, c Config) string
	// start runs a fresh instance with its data under dir, with a topic
	// (or stream) of c.Partitions partitions named topicName.
	start(ctx context.Context, dir string, durable bool, c Config) (instance, error)
}

// instance is one running system with its topic.
type instance interface {
	// produce publishes the plan and returns how many messages were
	// acknowledged and the time from the first publish to the last
	// acknowledgement.
	produce(ctx context.Context, p producePlan) (acked int64, d time.Duration, err error)
	// consume reads the whole topic, expect messages, with one new
	// consumer, and returns the time from its first fetch to the last
	// message (setting the consumer up is not measured).
	consume(ctx context.Context, expect int64) (time.Duration, error)
	// close stops the instance and everything it started.
	close() error
}

// topicName is the topic (Brook, kfake) or stream (JetStream) of a run.
const topicName = "compare"

// systemNames lists the systems in table order.
func systemNames() []string {
	return []string{"brook", "brook-kafka", "kfake", "kgo-null", "jetstream"}
}

func newSystem(name string) system {
	switch name {
	case "kfake":
		return kafkaSystem{}
	case "jetstream":
		return jetStreamSystem{}
	case "brook-kafka":
		return brookKafkaSystem{}
	case "kgo-null":
		return nullKafkaSystem{}
	}
	return brookSystem{}
}

// sample is one measurement.
type sample struct {
	rate  float64 // msgs/s; for C, the p99 in ms
	count int64   // messages measured
	want  int64   // messages asked for
	p50   float64 // C: ms
	max   float64 // C: ms
}

// runner carries one run.
type runner struct {
	cfg     Config
	out     io.Writer
	root    string
	start   time.Time
	samples map[string][]sample // by workload id + "/" + system
}

// Run measures every workload on every selected system and returns the
// report. It writes progress lines to progress (which may be nil), stops
// early with ctx's error when ctx ends, and removes its temporary data
// before returning.
func Run(ctx context.Context, cfg Config, progress io.Writer) (Report, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if progress == nil {
		progress = io.Discard
	}
	root, err := os.MkdirTemp(c.Dir, "brook-compare-")
	if err != nil {
		return Report{}, fmt.Errorf("compare: temporary directory: %w", err)
	}
	defer os.RemoveAll(root)
	r := &runner{cfg: c, out: progress, root: root, start: time.Now(), samples: map[string][]sample{}}
	r.logf("compare: %d repetition(s), %d messages of %d bytes, %d partitions, systems %v, data in %s",
		c.Reps, c.Messages, c.RecordSize, c.Partitions, c.Systems, root)
	for rep := 1; rep <= c.Reps; rep++ {
		// Rotate the order so that no system always runs first (on a
		// cold page cache) or last.
		for i := range c.Systems {
			sys := newSystem(c.Systems[(i+rep-1)%len(c.Systems)])
			for _, durable := range []bool{true, false} {
				if err := r.measure(ctx, sys, durable, rep); err != nil {
					return Report{}, fmt.Errorf("compare: %s: %w", sys.name(), err)
				}
			}
		}
	}
	return r.report(), nil
}

// measure runs one produce on a fresh instance of sys and, for the unsynced
// instance, the consumption of what it wrote.
func (r *runner) measure(ctx context.Context, sys system, durable bool, rep int) error {
	w := produceUnsynced
	if durable {
		w = produceDurable
	}
	if sys.mode(w, r.cfg) == "" {
		return nil
	}
	dir, err := os.MkdirTemp(r.root, sys.name()+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	inst, err := sys.start(ctx, dir, durable, r.cfg)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	err = r.measureOn(ctx, sys, inst, w, rep)
	return errors.Join(err, inst.close())
}

func (r *runner) measureOn(ctx context.Context, sys system, inst instance, w workload, rep int) error {
	c := r.cfg
	plan := producePlan{
		topic: topicName, parts: c.Partitions, total: c.Messages, value: payload(c.RecordSize),
		window: c.Window, capped: new(atomic.Bool),
	}
	t := time.AfterFunc(c.ProduceCap, func() { plan.capped.Store(true) })
	acked, d, err := inst.produce(ctx, plan)
	t.Stop()
	if err != nil {
		return fmt.Errorf("%s: %w", w.title(), err)
	}
	if acked <= 0 {
		return fmt.Errorf("%s: nothing acknowledged", w.title())
	}
	r.add(w, sys, rep, sample{rate: float64(acked) / d.Seconds(), count: acked, want: int64(c.Messages)})
	if li, ok := inst.(latencyInstance); ok && w == produceDurable && sys.mode(latencyDurable, c) != "" {
		lats, err := li.latency(ctx, latencyPlan{topic: topicName, rate: c.LatencyRate, d: c.LatencyDuration, size: c.RecordSize})
		if err != nil {
			return fmt.Errorf("%s: %w", latencyDurable.title(), err)
		}
		r.add(latencyDurable, sys, rep, latencySample(lats))
	}
	if w != produceUnsynced || sys.mode(consumeAll, c) == "" {
		return nil
	}
	d, err = inst.consume(ctx, acked)
	if err != nil {
		return fmt.Errorf("%s: %w", consumeAll.title(), err)
	}
	r.add(consumeAll, sys, rep, sample{rate: float64(acked) / d.Seconds(), count: acked, want: acked})
	return nil
}

// add records a sample and reports it.
func (r *runner) add(w workload, sys system, rep int, s sample) {
	key := w.id() + "/" + sys.name()
	r.samples[key] = append(r.samples[key], s)
	capped := ""
	if s.count < s.want {
		capped = fmt.Sprintf(" (capped at %v: %s of %s messages)", r.cfg.ProduceCap, bench.SI(float64(s.count)), bench.SI(float64(s.want)))
	}
	if w == latencyDurable {
		r.logf("%-2s %-30s %-9s rep %d/%d: p99 %.3f ms, p50 %.3f ms, max %.3f ms", w.id(), w.title(), sys.name(), rep, r.cfg.Reps, s.rate, s.p50, s.max)
		return
	}
	r.logf("%-2s %-30s %-9s rep %d/%d: %s msgs/s%s", w.id(), w.title(), sys.name(), rep, r.cfg.Reps, bench.SI(s.rate), capped)
}

// logf writes one progress line stamped with the time since the start.
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// payload is the value of every message: size bytes that do not compress
// to nothing, in case a client compresses by default.
func payload(size int) []byte {
	v := make([]byte, size)
	x := uint32(2463534242)
	for i := range v {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v[i] = byte(x)
	}
	return v
}

// join is filepath.Join, short.
func join(elem ...string) string { return filepath.Join(elem...) }

// latencySample sums up one latency run: p99 (in rate), p50 and max, in ms.
func latencySample(lats []time.Duration) sample {
	slices.Sort(lats)
	ms := func(q float64) float64 {
		return float64(lats[min(len(lats)-1, int(q*float64(len(lats))))]) / float64(time.Millisecond)
	}
	return sample{rate: ms(0.99), p50: ms(0.50), max: ms(1), count: int64(len(lats)), want: int64(len(lats))}
}
