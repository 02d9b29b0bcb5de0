package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/brookmq/brook"
)

// APIVersion is the version of the JSON shapes, reported by /api/info. It
// changes when a field is renamed or removed.
const APIVersion = 1

// Info is the answer of /api/info.
type Info struct {
	APIVersion            int     `json:"api_version"`
	ReadOnly              bool    `json:"read_only"`
	SampleIntervalSeconds float64 `json:"sample_interval_seconds"`
	RefreshSeconds        float64 `json:"refresh_seconds"` // how often the console page refreshes
}

// Topic is one topic with its partitions.
type Topic struct {
	Name            string      `json:"name"`
	Partitions      []Partition `json:"partitions"`
	RetentionMs     int64       `json:"retention_ms"`    // 0: keep forever
	RetentionBytes  int64       `json:"retention_bytes"` // 0: no bound
	MaxMessageBytes int         `json:"max_message_bytes"`
	Sync            string      `json:"sync"`
	Messages        int64       `json:"messages"` // held now: sum of next - first
	Bytes           int64       `json:"bytes"`
}

// Partition is one partition of a topic.
type Partition struct {
	Partition   int   `json:"partition"`
	FirstOffset int64 `json:"first_offset"`
	NextOffset  int64 `json:"next_offset"`
	Bytes       int64 `json:"bytes"`
	// Failure says why the partition refuses writes; empty while healthy.
	Failure string `json:"failure,omitempty"`
}

// GroupSummary is one line of /api/groups.
type GroupSummary struct {
	ID         string `json:"id"`
	Generation int64  `json:"generation"`
	Members    int    `json:"members"`
	Lag        int64  `json:"lag"`
}

// Group is one consumer group in full.
type Group struct {
	ID         string           `json:"id"`
	Generation int64            `json:"generation"`
	Lag        int64            `json:"lag"`
	Members    []Member         `json:"members"`
	Partitions []GroupPartition `json:"partitions"`
}

// Member is one member of a group and what it is assigned.
type Member struct {
	ID       string           `json:"id"`
	Topics   []string         `json:"topics"`
	Assigned []TopicPartition `json:"assigned"`
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
}

// GroupPartition is one partition as one group sees it.
type GroupPartition struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Owner     string `json:"owner"`     // member ID, "" when unowned
	Committed int64  `json:"committed"` // next offset to read, -1 when nothing is committed
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
}

// Overview is the answer of /api/overview: everything the console shows.
type Overview struct {
	Info    Info    `json:"info"`
	Topics  []Topic `json:"topics"`
	Groups  []Group `json:"groups"`
	History History `json:"history"`
	Time    int64   `json:"time"` // milliseconds since the Unix epoch
}

// errNotFound answers 404 for paths under /api/ that name nothing.
var errNotFound = errors.New("console: not found")

// errForbidden answers 403 for a mutating request on a read-only handler.
var errForbidden = errors.New("console: read-only: start with writes enabled to change anything")

// errBadRequest answers 400.
var errBadRequest = errors.New("console: bad request")

// api adapts a function returning a value to encode, or an error, to a
// handler.
func (h *Handler) api(f func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			code := statusOf(err)
			if code == http.StatusInternalServerError {
				h.o.Logger.Error("console: request", "path", r.URL.Path, "err", err)
			}
			writeError(w, code, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, errNotFound), errors.Is(err, brook.ErrUnknownTopic), errors.Is(err, brook.ErrUnknownGroup):
		return http.StatusNotFound
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errBadRequest), errors.Is(err, brook.ErrInvalidGroupID),
		errors.Is(err, brook.ErrInvalidPartition), errors.Is(err, brook.ErrInvalidConfig):
		return http.StatusBadRequest
	case errors.Is(err, brook.ErrGroupActive):
		return http.StatusConflict
	case errors.Is(err, brook.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (h *Handler) info(*http.Request) (any, error) { return h.infoValue(), nil }

func (h *Handler) infoValue() Info {
	return Info{APIVersion: APIVersion, ReadOnly: !h.o.AllowWrites, SampleIntervalSeconds: h.o.SampleInterval.Seconds(),
		RefreshSeconds: h.o.Refresh.Seconds()}
}

func (h *Handler) overview(*http.Request) (any, error) {
	st, err := h.b.Stats()
	if err != nil {
		return nil, err
	}
	groups, err := h.allGroups()
	if err != nil {
		return nil, err
	}
	ov := Overview{Info: h.infoValue(), Topics: []Topic{}, Groups: groups, History: h.sampler.history(), Time: time.Now().UnixMilli()}
	for _, t := range st.Topics {
		ov.Topics = append(ov.Topics, topicJSON(t))
	}
	return ov, nil
}

func (h *Handler) topics(*http.Request) (any, error) {
	st, err := h.b.Stats()
	if err != nil {
		return nil, err
	}
	out := []Topic{}
	for _, t := range st.Topics {
		out = append(out, topicJSON(t))
	}
	return out, nil
}

func (h *Handler) topic(r *http.Request) (any, error) {
	t, err := h.b.Topic(r.PathValue("topic"))
	if err != nil {
		return nil, err
	}
	return topicJSON(t.Stats()), nil
}

func (h *Handler) partitions(r *http.Request) (any, error) {
	t, err := h.b.Topic(r.PathValue("topic"))
	if err != nil {
		return nil, err
	}
	return topicJSON(t.Stats()).Partitions, nil
}

func (h *Handler) groups(*http.Request) (any, error) {
	all, err := h.allGroups()
	if err != nil {
		return nil, err
	}
	out := []GroupSummary{}
	for _, g := range all {
		out = append(out, GroupSummary{ID: g.ID, Generation: g.Generation, Members: len(g.Members), Lag: g.Lag})
	}
	return out, nil
}

func (h *Handler) group(r *http.Request) (any, error) {
	gs, err := h.b.GroupStats(r.PathValue("group"))
	if err != nil {
		return nil, err
	}
	return groupJSON(gs), nil
}

func (h *Handler) members(r *http.Request) (any, error) {
	gs, err := h.b.GroupStats(r.PathValue("group"))
	if err != nil {
		return nil, err
	}
	return groupJSON(gs).Members, nil
}

func (h *Handler) lag(r *http.Request) (any, error) {
	gs, err := h.b.GroupStats(r.PathValue("group"))
	if err != nil {
		return nil, err
	}
	return groupJSON(gs).Partitions, nil
}

func (h *Handler) history(*http.Request) (any, error) { return h.sampler.history(), nil }

// deleteGroup deletes a group when writes are allowed and the request
// repeats the group's ID in confirm.
func (h *Handler) deleteGroup(r *http.Request) (any, error) {
	if !h.o.AllowWrites {
		return nil, errForbidden
	}
	id := r.PathValue("group")
	if r.URL.Query().Get("confirm") != id {
		return nil, fmt.Errorf("%w: repeat the group's ID in ?confirm= to delete it", errBadRequest)
	}
	if err := h.b.DeleteGroup(id); err != nil {
		return nil, err
	}
	h.o.Logger.Info("console: deleted group", "group", id)
	return map[string]string{"deleted": id}, nil
}

// allGroups returns every group in full, sorted by ID; groups deleted while
// listing are left out.
func (h *Handler) allGroups() ([]Group, error) {
	ids, err := h.b.Groups()
	if err != nil {
		return nil, err
	}
	out := []Group{}
	for _, id := range ids {
		gs, err := h.b.GroupStats(id)
		if errors.Is(err, brook.ErrUnknownGroup) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, groupJSON(gs))
	}
	return out, nil
}

func topicJSON(t brook.TopicStats) Topic {
	out := Topic{
		Name: t.Name, Partitions: []Partition{}, RetentionMs: t.Config.RetentionAge.Milliseconds(),
		RetentionBytes: t.Config.RetentionBytes, MaxMessageBytes: t.Config.MaxMessageBytes, Sync: t.Config.Sync.String(),
	}
	for _, p := range t.Partitions {
		out.Partitions = append(out.Partitions, Partition(p))
		out.Messages += p.NextOffset - p.FirstOffset
		out.Bytes += p.Bytes
	}
	return out
}

func groupJSON(gs brook.GroupStats) Group {
	out := Group{ID: gs.ID, Generation: gs.Generation, Members: []Member{}, Partitions: []GroupPartition{}}
	for _, m := range gs.Members {
		mj := Member{ID: m.ID, Topics: append([]string{}, m.Topics...), Assigned: []TopicPartition{}}
		for _, tp := range m.Assigned {
			mj.Assigned = append(mj.Assigned, TopicPartition(tp))
		}
		out.Members = append(out.Members, mj)
	}
	for _, p := range gs.Partitions {
		out.Partitions = append(out.Partitions, GroupPartition{
			Topic: p.Topic, Partition: p.Partition, Owner: p.Owner, Committed: p.Committed, End: p.End, Lag: p.Lag,
		})
		out.Lag += p.Lag
	}
	return out
}
