package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// Statuses of a checked log, as brook.CheckStatus says them.
const (
	statusOK      = string(brook.CheckOK)
	statusCorrupt = string(brook.CheckCorrupt)
	statusError   = string(brook.CheckError)
)

// checkResult is what check found in one log: a topic's partition or a
// group's committed offsets.
type checkResult struct {
	Log         string          `json:"log"` // directory, relative to the data directory
	Topic       string          `json:"topic,omitempty"`
	Partition   *int            `json:"partition,omitempty"`
	Group       string          `json:"group,omitempty"`
	Status      string          `json:"status"`
	Records     int64           `json:"records"` // records read back and verified
	Bytes       int64           `json:"bytes"`
	FirstOffset int64           `json:"first_offset"`
	NextOffset  int64           `json:"next_offset"`
	Repair      *repairInfo     `json:"repair,omitempty"`
	Committed   []committedJSON `json:"committed,omitempty"` // a group's committed offsets
	Damage      []damageJSON    `json:"damage,omitempty"`    // each damaged place
	Problems    []string        `json:"problems,omitempty"`
	Notes       []string        `json:"notes,omitempty"` // not damage
}

// damageJSON is one damaged place of a log.
type damageJSON struct {
	Segment string `json:"segment"`
	Offset  int64  `json:"offset"`
	Reason  string `json:"reason"`
}

// committedJSON is one committed offset of a group.
type committedJSON struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
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
	Damaged  int           `json:"damaged"`         // corrupt, missing or unreadable
	Stray    []string      `json:"stray,omitempty"` // not Brook's files, left alone
	Healthy  bool          `json:"healthy"`         // no log is damaged
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

// check verifies the logs of the data directory (brook.Check) and prints
// the report.
func (a *app) check(topics []string, repair bool) error {
	if err := a.requireDir(); err != nil {
		return err
	}
	dir := a.dataDir()
	found, err := brook.Check(dir, &brook.CheckOptions{Topics: topics, RepairTails: repair})
	if errors.Is(err, brook.ErrNotDataDir) {
		return hinted(err, "point --dir or BROOK_DATA_DIR at a Brook data directory; Brook never uses a directory it did not create")
	}
	if err != nil {
		return err
	}
	rep := checkReport{Dir: dir, Logs: []checkResult{}, Stray: found.Stray}
	for _, l := range found.Logs {
		rep.add(resultOf(l))
	}
	if found.OpenError != nil && rep.Healthy {
		// A damaged log already reported is why Open fails: say it once.
		rep.add(openProblem(".", found.OpenError))
	}
	if err := a.printCheck(rep); err != nil {
		return err
	}
	if !rep.Healthy {
		return hinted(fmt.Errorf("%d of %d logs in %s are damaged", rep.Damaged, len(rep.Logs), dir),
			"the problems above name each damaged segment and offset; restore those files from a backup, "+
				"or cut the partition at its damage with brook check --repair TOPIC/PARTITION (the cut bytes are kept)")
	}
	return nil
}

// resultOf is the output of one log of brook.Check's report.
func resultOf(l brook.LogCheck) checkResult {
	res := checkResult{Log: l.Path, Topic: l.Topic, Group: l.Group, Status: string(l.Status), Records: l.Records,
		Bytes: l.Bytes, FirstOffset: l.FirstOffset, NextOffset: l.NextOffset, Problems: l.Problems, Notes: l.Notes}
	for _, d := range l.Damage {
		res.Damage = append(res.Damage, damageJSON(d))
	}
	if l.Partition >= 0 {
		p := l.Partition
		res.Partition = &p
	}
	if r := l.TailRepair; r != nil {
		res.Repair = &repairInfo{TruncatedRecords: r.TruncatedRecords, TruncatedBytes: r.TruncatedBytes,
			SavedTo: r.SavedTo, Reason: r.Reason}
	}
	for tp, off := range l.Committed {
		res.Committed = append(res.Committed, committedJSON{Topic: tp.Topic, Partition: tp.Partition, Offset: off})
	}
	slices.SortFunc(res.Committed, func(x, y committedJSON) int {
		return cmp.Or(cmp.Compare(x.Topic, y.Topic), cmp.Compare(x.Partition, y.Partition))
	})
	return res
}

// openProblem is the result for a failure of Open's validation.
func openProblem(log string, err error) checkResult {
	status := statusError
	if errors.Is(err, brook.ErrCorrupt) || errors.Is(err, brook.ErrUnexpectedFile) {
		status = statusCorrupt
	}
	return checkResult{Log: log, Status: status, Problems: []string{"Open fails: " + err.Error()}}
}

// add counts res into the report.
func (r *checkReport) add(res checkResult) {
	r.Logs = append(r.Logs, res)
	switch st := brook.CheckStatus(res.Status); {
	case st == brook.CheckRepaired:
		r.Repaired++
	case st.Damaged():
		r.Damaged++
	default:
		r.OK++
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
		for _, n := range r.Notes {
			fmt.Fprintf(a.stdout, "\n%s: note: %s", r.Log, n)
		}
	}
	for _, s := range rep.Stray {
		fmt.Fprintf(a.stdout, "\n%s: not written by Brook; left alone", s)
	}
	_, err = fmt.Fprintf(a.stdout, "\n%s checked: %d ok, %d repaired, %d damaged\n",
		plural(len(rep.Logs), "log"), rep.OK, rep.Repaired, rep.Damaged)
	return err
}
