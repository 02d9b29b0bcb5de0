package main

import (
	"errors"
	"path/filepath"

	"github.com/brookmq/brook"
)

// checkOpen runs what Open validates, through a read-only open of the
// directory, and the replay of every group's committed offsets, so that
// check fails where Open (or loading a group) would: a topic.json of an
// unknown version, a directory in topics/ that is not a valid topic, an
// offsets record that does not decode. It returns one result per problem.
// The failure of the open itself is returned only when reportOpen is set
// (the logs checked were healthy): otherwise it repeats a damaged log
// already reported.
func checkOpen(dir string, reportOpen bool) []checkResult {
	b, err := brook.Open(dir, &brook.Options{ReadOnly: true})
	if err != nil {
		if !reportOpen {
			return nil
		}
		return []checkResult{openProblem(".", err)}
	}
	defer b.Close()
	var res []checkResult
	ids, err := b.Groups()
	if err != nil {
		return []checkResult{openProblem("groups", err)}
	}
	for _, id := range ids {
		if _, err := b.GroupStats(id); err != nil {
			r := openProblem(filepath.Join("groups", id), err)
			r.Group = id
			res = append(res, r)
		}
	}
	return res
}

// openProblem is the result for a failure of the open's validation.
func openProblem(log string, err error) checkResult {
	status := statusError
	if errors.Is(err, brook.ErrCorrupt) || errors.Is(err, brook.ErrUnexpectedFile) {
		status = statusCorrupt
	}
	return checkResult{Log: log, Status: status, Problems: []string{"Open fails: " + err.Error()}}
}
