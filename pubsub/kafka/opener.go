package kafka

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultBrokers is where a bare kafka:// URL connects when $KAFKA_BROKERS
// is empty, as the seed's bootstrap_servers default.
const DefaultBrokers = "localhost:9092"

// Opener opens kafka:// URLs. Register it in a pubsub.Registry:
//
//	reg.Register("kafka", kafka.Opener{})
//
// The URL is kafka://h1:9092,h2:9092?client_id=x&acks=all&linger=5ms. With
// no host (kafka:// or the bare name kafka) the brokers are $KAFKA_BROKERS,
// a comma list, else DefaultBrokers. The query keys are:
//
//   - client_id: kgo.ClientID. Default: kgo's "kgo".
//   - acks: all, leader (or 1), or none (or 0; turns off idempotent
//     writes, which need all). Default: all.
//   - linger: kgo.ProducerLinger, a Go duration. Default: kgo's 0.
//   - commit_interval: kgo.AutoCommitInterval for subscriptions, a Go
//     duration. Default: kgo's 5s.
//
// Any other key, a path, or a user in the URL is an error wrapping
// pubsub.ErrBadURL.
type Opener struct {
	// Opts are added after the options the URL makes, for what a URL does
	// not carry: TLS (kgo.DialTLSConfig), SASL, loggers, timeouts. They
	// apply to the publishing client and to every subscription's client.
	// Default: none.
	Opts []kgo.Opt
}

// Open builds a kgo client from u and Opts, checks that a broker answers
// (kgo.Client.Ping), and returns a backend that owns the client.
func (o Opener) Open(ctx context.Context, u *url.URL) (driver.Backend, error) {
	opts, err := urlOpts(u)
	if err != nil {
		return nil, err
	}
	opts = append(opts, o.Opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pubsub.ErrBadURL, err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: no broker of %s answers: %w", u.Redacted(), err)
	}
	return newBackend(cl, true, opts), nil
}

// urlOpts returns the kgo options u asks for, the partitioner included.
func urlOpts(u *url.URL) ([]kgo.Opt, error) {
	if u.User != nil || (u.Path != "" && u.Path != "/" && u.Host != "") || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %s: only hosts and query keys are allowed", pubsub.ErrBadURL, u.Redacted())
	}
	hosts := u.Host
	if hosts == "" {
		hosts = os.Getenv("KAFKA_BROKERS")
	}
	if hosts == "" {
		hosts = DefaultBrokers
	}
	seeds := slices.DeleteFunc(strings.Split(hosts, ","), func(h string) bool { return strings.TrimSpace(h) == "" })
	for i := range seeds {
		seeds[i] = strings.TrimSpace(seeds[i])
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%w: %s: no broker", pubsub.ErrBadURL, u.Redacted())
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.RecordPartitioner(partitioner),
		kgo.UnknownTopicRetries(1),
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		opt, err := queryOpt(k, v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s=%q: %v", pubsub.ErrBadURL, u.Redacted(), k, v, err)
		}
		opts = append(opts, opt...)
	}
	return opts, nil
}

func queryOpt(k, v string) ([]kgo.Opt, error) {
	switch k {
	case "client_id":
		return []kgo.Opt{kgo.ClientID(v)}, nil
	case "acks":
		switch strings.ToLower(v) {
		case "all", "-1":
			return []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, nil
		case "leader", "1":
			return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}, nil
		case "none", "0":
			return []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}, nil
		}
		return nil, errors.New("want all, leader or none")
	case "linger", "commit_interval":
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, errors.New("want a non-negative Go duration")
		}
		if k == "linger" {
			return []kgo.Opt{kgo.ProducerLinger(d)}, nil
		}
		if d == 0 {
			return nil, errors.New("want a positive Go duration")
		}
		return []kgo.Opt{kgo.AutoCommitInterval(d)}, nil
	}
	return nil, errors.New("unknown key")
}
