package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook/internal/bench"
)

// benchFlags are the flags of `bench`.
type benchFlags struct {
	quick       bool
	reps        int
	tmp         string
	workloads   []int
	cpuProfile  string
	memProfile  string
	reopenChild string
}

func newBenchCmd(a *app) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Brook's throughput and latency against raw tidwall/wal on this machine",
		Long: "bench runs Brook's performance workloads on a temporary directory (not --dir):\n" +
			"  1 produce, durable default policy, PublishAsync + Flush, and PublishBatch (1b)\n" +
			"  2 produce, 64 goroutines calling Publish synchronously (group commit)\n" +
			"  3 produce without fsync, both APIs (3, 3b)\n" +
			"  4 consume, one group of 4 members, from a full topic\n" +
			"  5 end-to-end latency at 2,000 msgs/s, with and without fsync\n" +
			"  6 three groups lagging in different sealed segments\n" +
			"  7 rebalance: one member joins a group of 16 over 256 partitions\n" +
			"  8 reopen a directory of 10M records in 64 partitions: time and peak memory\n" +
			"Each is repeated and the table shows medians, with each figure's ratio to the\n" +
			"raw tidwall/wal ceiling measured in the same run (the same number of logs in\n" +
			"parallel, batch and segment size, with and without fsync). Progress goes to\n" +
			"standard error, the table (or --json) to standard output. A full run takes a\n" +
			"few minutes and about 2 GB of temporary disk; --quick about a minute.",
		Example: "  brook bench --quick\n" +
			"  brook bench --workloads 1,3 --reps 3\n" +
			"  brook bench --json > bench.json",
		Args: args(cobra.NoArgs),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if f.reopenChild != "" {
				res, err := bench.MeasureReopen(f.reopenChild)
				if err != nil {
					return err
				}
				return writeJSON(a.stdout, res)
			}
			if f.reps < 0 {
				return usagef("--reps must be 1 or more, not %d", f.reps)
			}
			cfg := bench.Config{Dir: f.tmp, Quick: f.quick, Reps: f.reps, Workloads: f.workloads,
				ReopenChild: reopenInChild}
			stop, err := startProfiles(f.cpuProfile, f.memProfile)
			if err != nil {
				return err
			}
			rep, err := bench.Run(a.ctx, cfg, a.stderr)
			if perr := stop(); err == nil {
				err = perr
			}
			if err != nil {
				return err
			}
			if a.json {
				return rep.WriteJSON(a.stdout)
			}
			return rep.WriteTable(a.stdout)
		}),
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.quick, "quick", false, "small sizes and 1 repetition (about a minute)")
	fl.IntVar(&f.reps, "reps", 0, "repetitions of each workload (default 5, --quick 1)")
	fl.StringVar(&f.tmp, "tmp", "", "directory for the temporary data (default: the system's temporary directory)")
	fl.IntSliceVar(&f.workloads, "workloads", nil, "run only these workloads, by number (default: all)")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (use with --workloads)")
	fl.StringVar(&f.memProfile, "memprofile", "", "write an allocation profile of the whole run to this file")
	fl.StringVar(&f.reopenChild, "reopen-child", "", "internal: open DIR, print the reopen measurement as JSON")
	_ = fl.MarkHidden("reopen-child")
	return cmd
}

// reopenInChild measures one reopen of dir in a new process of this same
// program, so that the peak RSS it reports is the reopen's alone.
func reopenInChild(ctx context.Context, dir string) (bench.ReopenResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.ReopenResult{}, err
	}
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, exe, "bench", "--reopen-child", dir)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return bench.ReopenResult{}, fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res bench.ReopenResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return res, fmt.Errorf("reading the child's result: %w", err)
	}
	return res, nil
}

// startProfiles starts a CPU profile to cpu and arranges an allocation
// profile to mem (either may be empty); stop ends them and writes the files.
func startProfiles(cpu, mem string) (stop func() error, err error) {
	var cpuFile *os.File
	if cpu != "" {
		if cpuFile, err = os.Create(cpu); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			return nil, err
		}
	}
	return func() error {
		var errs []error
		if cpuFile != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpuFile.Close())
		}
		if mem != "" {
			f, err := os.Create(mem)
			if err != nil {
				return err
			}
			errs = append(errs, pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
		}
		return errors.Join(errs...)
	}, nil
}
