package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/brookmq/brook"
)

// repairReport is the output of check --repair for one partition.
type repairReport struct {
	Topic          string   `json:"topic"`
	Partition      int      `json:"partition"`
	Damage         string   `json:"damage,omitempty"` // empty: nothing to repair
	CutAt          int64    `json:"cut_at"`
	DroppedRecords int64    `json:"dropped_records"`
	SavedTo        []string `json:"saved_to,omitempty"`
}

// repairPartitions runs check --repair TOPIC/PARTITION...: it cuts each
// partition named at its first damage (brook.RepairPartition), the one
// explicit action that drops records, and says how many.
func (a *app) repairPartitions(targets []string) error {
	if err := a.requireDir(); err != nil {
		return err
	}
	if len(targets) == 0 {
		return usageErr(errors.New("--repair needs the partitions to repair, as TOPIC/PARTITION (brook check lists the damaged ones)"))
	}
	var out []repairReport
	for _, t := range targets {
		topic, ps, ok := strings.Cut(t, "/")
		p, err := strconv.Atoi(ps)
		if !ok || err != nil {
			return usageErr(fmt.Errorf("--repair takes TOPIC/PARTITION, not %q", t))
		}
		res, err := brook.RepairPartition(a.dataDir(), topic, p, nil)
		if err != nil {
			return fmt.Errorf("repair %s: %w", t, err)
		}
		out = append(out, repairReport{Topic: topic, Partition: p, Damage: res.Damage,
			CutAt: res.CutAt, DroppedRecords: res.DroppedRecords, SavedTo: res.SavedTo})
	}
	if a.json {
		return writeJSON(a.stdout, out)
	}
	for _, r := range out {
		if r.Damage == "" {
			fmt.Fprintf(a.stdout, "%s/%d: no damage found; nothing changed\n", r.Topic, r.Partition)
			continue
		}
		fmt.Fprintf(a.stdout, "%s/%d: cut at offset %d, %d records dropped (%s); the cut bytes are kept in %s\n",
			r.Topic, r.Partition, r.CutAt, r.DroppedRecords, r.Damage, strings.Join(r.SavedTo, ", "))
	}
	return nil
}
