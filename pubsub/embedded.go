package pubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
)

// embedded is the backend over a *brook.Broker in this process: the
// process-wide one ("brook://"), one the client owns ("brook:///dir"), or
// one on a temporary directory ("mem://").
type embedded struct {
	b       *brook.Broker
	p       *brook.Producer
	owned   bool   // Close closes b
	removal string // a directory Close removes, for mem://
	seq     atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// NewEmbedded returns a backend over b, for NewClient. The backend does not
// own b: closing it (or the client) leaves b open.
func NewEmbedded(b *brook.Broker) driver.Backend {
	return &embedded{b: b, p: b.CreateProducer("pubsub")}
}

// openBrook opens "brook://" (the process-wide broker), "brook:///abs" or
// "brook://./rel" (a broker on that directory, owned by the backend).
func openBrook(_ context.Context, u *url.URL) (driver.Backend, error) {
	dir := path.Join(u.Host, u.Path)
	if u.Opaque != "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %q: want brook://, brook:///abs/dir or brook://./rel/dir", ErrBadURL, u.String())
	}
	if dir == "" {
		if len(u.Query()) > 0 {
			return nil, fmt.Errorf("%w: the process-wide broker (brook://) takes no query keys", ErrBadURL)
		}
		b := brook.GetorSetBrokerInstance()
		if _, err := b.Topics(); err != nil {
			return nil, err
		}
		return NewEmbedded(b), nil
	}
	opts, err := brokerOptions(u.Query(), brook.SyncDefault)
	if err != nil {
		return nil, err
	}
	b, err := brook.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	return &embedded{b: b, p: b.CreateProducer("pubsub"), owned: true}, nil
}

// openMem opens "mem://": a broker on a new temporary directory, with no
// fsync, removed on Close.
func openMem(_ context.Context, u *url.URL) (driver.Backend, error) {
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q: mem:// names no host or path", ErrBadURL, u.String())
	}
	opts, err := brokerOptions(u.Query(), brook.SyncNever)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "brook-mem-")
	if err != nil {
		return nil, fmt.Errorf("pubsub: mem://: %w", err)
	}
	b, err := brook.Open(dir, opts)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &embedded{b: b, p: b.CreateProducer("pubsub"), owned: true, removal: dir}, nil
}

// brokerOptions reads the query keys sync, commit_interval and
// segment_size; any other key is ErrBadURL.
func brokerOptions(q url.Values, sync brook.SyncPolicy) (*brook.Options, error) {
	o := &brook.Options{Sync: sync}
	for k, vs := range q {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "sync":
			o.Sync, err = parseSync(v)
		case "commit_interval":
			o.CommitInterval, err = time.ParseDuration(v)
			if err == nil && o.CommitInterval <= 0 {
				err = errors.New("not positive")
			}
		case "segment_size":
			o.SegmentSize, err = strconv.Atoi(v)
			if err == nil && o.SegmentSize <= 0 {
				err = errors.New("not positive")
			}
		default:
			return nil, fmt.Errorf("%w: unknown query key %q (known: sync, commit_interval, segment_size)", ErrBadURL, k)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q: %w", ErrBadURL, k, v, err)
		}
	}
	return o, nil
}

func parseSync(v string) (brook.SyncPolicy, error) {
	for _, p := range []brook.SyncPolicy{brook.SyncAlways, brook.SyncInterval, brook.SyncNever} {
		if v == p.String() {
			return p, nil
		}
	}
	return 0, errors.New("want always, interval or never")
}

func (e *embedded) EnsureTopic(_ context.Context, topic string, partitions int) error {
	_, err := e.b.CreateNewTopic(topic, partitions)
	return err
}

func (e *embedded) Partitions(_ context.Context, topic string) (int, error) {
	t, err := e.b.Topic(topic)
	if err != nil {
		return 0, err
	}
	return t.Partitions(), nil
}

func (e *embedded) EndOffsets(_ context.Context, topic string) ([]int64, error) {
	t, err := e.b.Topic(topic)
	if err != nil {
		return nil, err
	}
	st := t.Stats().Partitions
	ends := make([]int64, len(st))
	for i, p := range st {
		ends[i] = p.NextOffset
	}
	return ends, nil
}

func (e *embedded) Publish(ctx context.Context, topic string, msgs []*brook.Message) error {
	if len(msgs) == 1 {
		return e.p.PublishContext(ctx, topic, msgs[0])
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.p.PublishBatch(topic, msgs)
}

func (e *embedded) Subscribe(_ context.Context, group string, topics []string, o driver.SubscribeOptions) (driver.Subscription, error) {
	if group == "" {
		return e.reader(topics, o)
	}
	c := e.b.CreateConsumerWith(fmt.Sprintf("pubsub-%d", e.seq.Add(1)), group, brook.ConsumerOptions{
		StartOffset: o.Start, ManualCommit: o.ManualCommit, MaxAttempts: 1, ErrorPolicy: brook.StopOnError,
		OnAssigned: o.OnAssigned, OnRevoked: o.OnRevoked, OnLost: o.OnLost,
	})
	if err := c.Subscribe(topics...); err != nil {
		_ = c.Close()
		return nil, err
	}
	return (*groupSub)(c), nil
}

func (e *embedded) DeleteGroup(_ context.Context, group string) error { return e.b.DeleteGroup(group) }

func (e *embedded) As(target any) bool {
	if p, ok := target.(**brook.Broker); ok {
		*p = e.b
		return true
	}
	return false
}

func (e *embedded) Close() error {
	e.closeOnce.Do(func() {
		err := e.p.Close()
		if e.owned {
			err = errors.Join(err, e.b.Close())
		}
		if e.removal != "" {
			err = errors.Join(err, os.RemoveAll(e.removal))
		}
		e.closeErr = err
	})
	return e.closeErr
}

// groupSub is a member of a group: a brook.Consumer.
type groupSub brook.Consumer

func (g *groupSub) Run(ctx context.Context, h brook.Handler) error {
	return (*brook.Consumer)(g).Run(ctx, h)
}

func (g *groupSub) Commit(ctx context.Context, m *brook.Message) error {
	return (*brook.Consumer)(g).Commit(ctx, m)
}

func (g *groupSub) Close() error { return (*brook.Consumer)(g).Close() }
