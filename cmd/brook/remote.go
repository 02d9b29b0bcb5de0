package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
)

// source is where the read-only commands (topics list and describe, groups
// list and describe) read: the data directory, or with --server the JSON
// API of a running `brook serve --http`, which holds the directory.
type source interface {
	TopicStats(ctx context.Context) ([]brook.TopicStats, error)
	Topic(ctx context.Context, name string) (brook.TopicStats, error)
	Groups(ctx context.Context) ([]string, error)
	GroupStats(ctx context.Context, id string) (brook.GroupStats, error)
}

// withSource calls fn with the server named by --server, or else with the
// data directory's broker, opened for the call.
func (a *app) withSource(fn func(source) error) error {
	if a.server != "" {
		r, err := newRemote(a.server, a.serverToken)
		if err != nil {
			return err
		}
		return fn(r)
	}
	return a.withReader(func(b *brook.Broker) error { return fn(brokerSource{b}) })
}

// brokerSource reads an open broker.
type brokerSource struct{ b *brook.Broker }

func (s brokerSource) TopicStats(context.Context) ([]brook.TopicStats, error) {
	st, err := s.b.Stats()
	return st.Topics, err
}

func (s brokerSource) Topic(_ context.Context, name string) (brook.TopicStats, error) {
	t, err := s.b.Topic(name)
	if err != nil {
		return brook.TopicStats{}, err
	}
	return t.Stats(), nil
}

func (s brokerSource) Groups(context.Context) ([]string, error) { return s.b.Groups() }

func (s brokerSource) GroupStats(_ context.Context, id string) (brook.GroupStats, error) {
	return s.b.GroupStats(id)
}

// remote reads the console API of a brook serve.
type remote struct {
	base   string // http://host:port
	token  string
	client *http.Client
}

// newRemote checks --server, HOST:PORT or an http(s) URL.
func newRemote(server, token string) (*remote, error) {
	base := server
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usagef("--server %q: want HOST:PORT or an http(s) URL", server)
	}
	return &remote{base: strings.TrimSuffix(base, "/"), token: token, client: &http.Client{Timeout: 30 * time.Second}}, nil
}

// get decodes the JSON answer of GET path into v; a 404 is notFound.
func (r *remote) get(ctx context.Context, path string, notFound error, v any) error {
	var answers map[int]error
	if notFound != nil {
		answers = map[int]error{http.StatusNotFound: notFound}
	}
	return r.do(ctx, http.MethodGet, path, answers, v)
}

// do sends a request and decodes its JSON answer into v. A status in
// answers returns that error; the others give errors that say what to do.
func (r *remote) do(ctx context.Context, method, path string, answers map[int]error, v any) error {
	return r.send(ctx, method, path, nil, answers, v)
}

// send is do with a request body, sent as JSON unless nil.
func (r *remote) send(ctx context.Context, method, path string, in any, answers map[int]error, v any) error {
	var reqBody io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, reqBody)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return hinted(fmt.Errorf("server %s: %w", r.base, err), "start it with brook serve --http, or check --server")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("server %s: %w", r.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if err, ok := answers[resp.StatusCode]; ok {
			return err
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return hinted(fmt.Errorf("server %s refused the token: %s", r.base, e.Error), "pass --server-token or set BROOK_SERVER_TOKEN")
		}
		return fmt.Errorf("server %s: %s: %s", r.base, resp.Status, e.Error)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("server %s: %s is not the console API: %w", r.base, path, err)
	}
	return nil
}

func (r *remote) TopicStats(ctx context.Context) ([]brook.TopicStats, error) {
	var ts []console.Topic
	if err := r.get(ctx, "/api/topics", nil, &ts); err != nil {
		return nil, err
	}
	out := make([]brook.TopicStats, len(ts))
	for i, t := range ts {
		out[i] = topicStatsOf(t)
	}
	return out, nil
}

func (r *remote) Topic(ctx context.Context, name string) (brook.TopicStats, error) {
	var t console.Topic
	err := r.get(ctx, "/api/topics/"+url.PathEscape(name), &brook.TopicError{Topic: name, Err: brook.ErrUnknownTopic}, &t)
	return topicStatsOf(t), err
}

func (r *remote) Groups(ctx context.Context) ([]string, error) {
	var gs []console.GroupSummary
	if err := r.get(ctx, "/api/groups", nil, &gs); err != nil {
		return nil, err
	}
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids, nil
}

func (r *remote) GroupStats(ctx context.Context, id string) (brook.GroupStats, error) {
	var g console.Group
	if err := r.get(ctx, "/api/groups/"+url.PathEscape(id), fmt.Errorf("%w: %q", brook.ErrUnknownGroup, id), &g); err != nil {
		return brook.GroupStats{}, err
	}
	gs := brook.GroupStats{ID: g.ID, Generation: g.Generation}
	for _, m := range g.Members {
		ms := brook.MemberStats{ID: m.ID, Topics: m.Topics}
		for _, tp := range m.Assigned {
			ms.Assigned = append(ms.Assigned, brook.TopicPartition(tp))
		}
		gs.Members = append(gs.Members, ms)
	}
	for _, p := range g.Partitions {
		gs.Partitions = append(gs.Partitions, brook.GroupPartitionStats{
			TopicPartition: brook.TopicPartition{Topic: p.Topic, Partition: p.Partition},
			Owner:          p.Owner, Committed: p.Committed, End: p.End, Lag: p.Lag,
		})
	}
	return gs, nil
}

// topicStatsOf converts the API's topic back to the broker's stats.
func topicStatsOf(t console.Topic) brook.TopicStats {
	st := brook.TopicStats{Name: t.Name, Config: brook.TopicConfig{
		Partitions: len(t.Partitions), RetentionAge: time.Duration(t.RetentionMs) * time.Millisecond,
		RetentionBytes: t.RetentionBytes, MaxMessageBytes: t.MaxMessageBytes, Sync: syncPolicyOf(t.Sync),
	}}
	for _, p := range t.Partitions {
		st.Partitions = append(st.Partitions, brook.PartitionStats(p))
	}
	return st
}

func syncPolicyOf(name string) brook.SyncPolicy {
	for _, p := range []brook.SyncPolicy{brook.SyncAlways, brook.SyncInterval, brook.SyncNever} {
		if p.String() == name {
			return p
		}
	}
	return brook.SyncDefault
}

// errServerOnlyReads refuses --server on a command that needs the
// directory.
var errServerOnlyReads = errors.New("--server works with topics list, describe and alter, and groups list, describe, delete and reset-offsets only")
