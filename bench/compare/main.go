// Command compare runs the same produce, consume and paced-latency
// workloads on Brook and on other embeddable log engines, in one process
// and one run, and prints the medians side by side with Brook's ratio to
// each:
//
//   - brook-kafka, Brook behind its own Kafka listener (kafkaserver),
//     driven by the kgo client;
//   - kfake, the fake Kafka cluster of franz-go, driven by the same client;
//   - kgo-null, the same client against a server that stores nothing: the
//     ceiling of the two Kafka rows on this machine;
//   - NATS JetStream, an embedded nats-server driven by nats.go's jetstream
//     package.
//
// It is a separate Go module so that the Brook module itself never depends
// on NATS or franz-go. Run it with `go run . [--quick] [--reps N] [--json]`
// from this directory. Like `brook bench`, it asserts nothing about speed;
// its test only checks that a tiny run yields every row.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
)

// main parses the flags, runs the comparison with progress on stderr and
// prints the report on stdout.
func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var cfg Config
	var asJSON bool
	var systems, cpuProfile, memProfile string
	fs.BoolVar(&cfg.Quick, "quick", false, "small sizes and one repetition (100k messages)")
	fs.IntVar(&cfg.Reps, "reps", 0, "repetitions of every measurement; the table shows medians (default 3, quick 1)")
	fs.IntVar(&cfg.Messages, "messages", 0, "messages per produce run (default 2000000, quick 100000)")
	fs.IntVar(&cfg.Window, "window", 0, "unacknowledged messages per publishing goroutine, Brook and JetStream (default 4000)")
	fs.IntVar(&cfg.BrookMembers, "brook-members", 0, "members of Brook's consumer group in the consume workload (default 1)")
	fs.IntVar(&cfg.LatencyRate, "latency-rate", 0, "messages per second of the paced latency workload C (default 2000)")
	fs.DurationVar(&cfg.LatencyDuration, "latency-duration", 0, "how long workload C publishes (default 3s, quick 1s)")
	fs.DurationVar(&cfg.ProduceCap, "cap", 0, "stop a produce run still sending after this long (default 15s, quick 5s)")
	fs.StringVar(&systems, "systems", "", "comma-separated systems to run: brook,brook-kafka,kfake,kgo-null,jetstream (default all)")
	fs.StringVar(&cfg.Dir, "dir", "", "where to put the temporary data (default $TMPDIR)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (servers and clients) to this file")
	fs.StringVar(&memProfile, "memprofile", "", "write an allocation profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if systems != "" {
		cfg.Systems = strings.Split(systems, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := Run(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			return err
		}
	}
	if asJSON {
		return rep.WriteJSON(os.Stdout)
	}
	return rep.WriteTable(os.Stdout)
}

// writeHeapProfile writes the allocations made since the start (the
// alloc_space and alloc_objects samples of the heap profile) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
