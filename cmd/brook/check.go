package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/storage"
)

// Statuses of a checked log.
const (
	statusOK       = "ok"       // every record read back and verified
	statusRepaired = "repaired" // a torn tail was cut on open; the rest verified
	statusCorrupt  = "corrupt"  // damage that was not (and will not be) repaired
	statusMissing  = "missing"  // a partition directory named by topic.json is absent
	statusError    = "error"    // the log could not be read for another reason
)

// checkResult is what check found in one log: a topic's partition or a
// group's committed offsets.
type checkResult struct {
	Log         string      `json:"log"` // directory, relative to the data directory
	Topic       string      `json:"topic,omitempty"`
	Partition   *int        `json:"partition,omitempty"`
	Group       string      `json:"group,omitempty"`
	Status      string      `json:"status"`
	Records     int64       `json:"records"` // records read back and verified
	Bytes       int64       `json:"bytes"`
	FirstOffset int64       `json:"first_offset"`
	NextOffset  int64       `json:"next_offset"`
	Repair      *repairInfo `json:"repair,omitempty"`
	Problems    []string    `json:"problems,omitempty"`
}

// repairInfo is storage's report of a torn tail cut on open.
type repairInfo struct {
	TruncatedRecords int    `json:"truncated_records"`
	TruncatedBytes   int64  `json:"truncated_bytes"`
	SavedTo          string `json:"saved_to"`
	Reason           string `json:"reason"`
}

// checkReport is the output of check.
type checkReport struct {
	Dir      string        `json:"dir"`
	Logs     []checkResult `json:"logs"`
	OK       int           `json:"ok"`
	Repaired int           `json:"repaired"`
	Damaged  int           `json:"damaged"` // corrupt, missing or unreadable
	Healthy  bool          `json:"healthy"` // no log is damaged
}

func newCheckCmd(a *app) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "check [TOPIC...]",
		Short: "Verify every record and checksum of every partition (or of the topics named)",
		Long: "check reads back every record of every partition and of every group's committed\n" +
			"offsets, verifying checksums and offsets, and reports per log what it found. It\n" +
			"exits with status 1 when it finds damage, or when opening the directory would fail.\n\n" +
			"By itself check opens the directory read-only: it takes no lock, changes nothing,\n" +
			"and works while a program holds the directory; a torn tail left by a crash is\n" +
			"left as is (the next open cuts it). With --repair it needs the directory to itself\n" +
			"and, like every broker start, opening each partition cuts a torn tail back to its\n" +
			"last whole batch (the cut bytes are saved beside the partition as corrupt-*.bin);\n" +
			"check reports those repairs. Damage anywhere before the tail is reported, and\n" +
			"repaired only by check --repair TOPIC/PARTITION, which cuts the log at the damage\n" +
			"(dropping the records after it, kept beside it as corrupt-*.bin).",
		Args: args(cobra.ArbitraryArgs),
		RunE: action(func(_ *cobra.Command, args []string) error {
			named := slices.ContainsFunc(args, func(s string) bool { return strings.Contains(s, "/") })
			switch {
			case repair && named:
				return a.repairPartitions(args)
			case named:
				return usagef("TOPIC/PARTITION names a partition to cut at its damage: give --repair")
			}
			return a.check(args, repair)
		}),
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "cut torn tails as a broker start does (needs the directory to itself); with TOPIC/PARTITION, cut that partition at its first damage, keeping the cut bytes beside it (drops records)")
	return cmd
}

// check verifies the logs of the data directory and prints the report.
func (a *app) check(topics []string, repair bool) error {
	if err := a.requireDir(); err != nil {
		return err
	}
	dir := a.dataDir()
	if err := brook.CheckDataDir(dir); err != nil {
		return hinted(err, "point --dir or BROOK_DATA_DIR at a Brook data directory; Brook never uses a directory it did not create")
	}
	if repair {
		// Hold the broker's lock (the flock on LOCK that Broker documents),
		// so that no broker starts while the logs are being repaired.
		lock, err := storage.OSFS().Lock(filepath.Join(dir, "LOCK"))
		if err != nil {
			return fmt.Errorf("lock %s: %w", dir, err)
		}
		defer lock.Close()
	}
	targets, err := listTargets(dir, topics)
	if err != nil {
		return err
	}
	rep := checkReport{Dir: dir, Logs: []checkResult{}}
	for _, t := range targets {
		res, err := checkLog(dir, t, !repair)
		if err != nil {
			return fmt.Errorf("%s: %w", t.rel, err)
		}
		rep.add(res)
	}
	if len(topics) == 0 {
		for _, res := range checkOpen(dir, rep.Healthy) {
			rep.add(res)
		}
	}
	if err := a.printCheck(rep); err != nil {
		return err
	}
	if !rep.Healthy {
		return hinted(fmt.Errorf("%d of %d logs in %s are damaged", rep.Damaged, len(rep.Logs), dir),
			"the problems above name each damaged segment and offset; restore those files from a backup, "+
				"or move the damaged part aside by hand (Brook never discards data before a torn tail by itself)")
	}
	return nil
}

// add counts res into the report.
func (r *checkReport) add(res checkResult) {
	r.Logs = append(r.Logs, res)
	switch res.Status {
	case statusOK:
		r.OK++
	case statusRepaired:
		r.Repaired++
	default:
		r.Damaged++
	}
	r.Healthy = r.Damaged == 0
}

// printCheck prints the report: a table, the problems, a summary.
func (a *app) printCheck(rep checkReport) error {
	if a.json {
		return writeJSON(a.stdout, rep)
	}
	err := a.table(func(w io.Writer) {
		row(w, "LOG", "STATUS", "RECORDS", "BYTES", "FIRST", "NEXT", "REPAIR")
		for _, r := range rep.Logs {
			repair := "-"
			if p := r.Repair; p != nil {
				repair = fmt.Sprintf("cut %s (%s) to %s", plural(int(p.TruncatedBytes), "byte"),
					plural(p.TruncatedRecords, "record"), filepath.Base(p.SavedTo))
			}
			row(w, r.Log, r.Status, r.Records, humanBytes(r.Bytes), r.FirstOffset, r.NextOffset, repair)
		}
	})
	if err != nil {
		return err
	}
	for _, r := range rep.Logs {
		if r.Repair != nil {
			fmt.Fprintf(a.stdout, "\n%s: repaired on open: %s; cut bytes saved to %s", r.Log, r.Repair.Reason, r.Repair.SavedTo)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(a.stdout, "\n%s: %s", r.Log, p)
		}
	}
	_, err = fmt.Fprintf(a.stdout, "\n%s checked: %d ok, %d repaired, %d damaged\n",
		plural(len(rep.Logs), "log"), rep.OK, rep.Repaired, rep.Damaged)
	return err
}
