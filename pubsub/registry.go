package pubsub

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/brookmq/brook/pubsub/driver"
)

// Opener opens a backend from a URL whose scheme it was registered under.
type Opener interface {
	Open(ctx context.Context, u *url.URL) (driver.Backend, error)
}

// OpenerFunc is a function that is an Opener.
type OpenerFunc func(ctx context.Context, u *url.URL) (driver.Backend, error)

// Open calls f.
func (f OpenerFunc) Open(ctx context.Context, u *url.URL) (driver.Backend, error) { return f(ctx, u) }

// Registry maps URL schemes to Openers, as the seed's dictionary of broker
// classes does. Its zero value is ready to use and knows the built-in
// schemes "brook" and "mem"; Register adds others (a Kafka or Google
// Pub/Sub backend, or one of your own). A Registry holds no package state:
// each program builds its own. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	openers map[string]Opener
}

// builtin returns the Opener of a built-in scheme: "brook" and "mem", which
// every Registry knows.
func builtin(scheme string) (Opener, bool) {
	switch scheme {
	case "brook":
		return OpenerFunc(openBrook), true
	case "mem":
		return OpenerFunc(openMem), true
	}
	return nil, false
}

// Register makes scheme open with o. It panics when scheme is empty, o is
// nil or scheme is already registered, the built-in "brook" and "mem"
// included: two packages claiming one scheme is a programming error, as
// with go-cloud's URLMux.
func (r *Registry) Register(scheme string, o Opener) {
	if scheme == "" || o == nil {
		panic("pubsub: Register with an empty scheme or a nil Opener")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := builtin(scheme); ok {
		panic(fmt.Sprintf("pubsub: scheme %q is built in", scheme))
	}
	if _, ok := r.openers[scheme]; ok {
		panic(fmt.Sprintf("pubsub: scheme %q registered twice", scheme))
	}
	if r.openers == nil {
		r.openers = make(map[string]Opener)
	}
	r.openers[scheme] = o
}

// Schemes returns the registered schemes, the built-ins included, sorted.
func (r *Registry) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := append(make([]string, 0, 2+len(r.openers)), "brook", "mem") // builtin's schemes
	for k := range r.openers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

func (r *Registry) opener(scheme string) (Opener, bool) {
	if o, ok := builtin(scheme); ok {
		return o, true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	o, ok := r.openers[scheme]
	return o, ok
}

// Open opens a client on the backend rawURL names, such as "mem://",
// "brook:///var/lib/app" or "kafka://h1:9092,h2:9092". A bare scheme name
// ("brook", "kafka") is the URL with nothing after the scheme. It returns
// ErrBadURL for a URL that does not parse, ErrUnknownScheme for a scheme
// nobody registered, or the Opener's error; on error nothing stays open.
func (r *Registry) Open(ctx context.Context, rawURL string) (*Client, error) {
	b, err := r.OpenBackend(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return NewClient(b, Options{}), nil
}

// OpenBackend opens the backend rawURL names without a client around it,
// for NewClient with Options or for drivertest. Errors are those of Open.
func (r *Registry) OpenBackend(ctx context.Context, rawURL string) (driver.Backend, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	o, ok := r.opener(u.Scheme)
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %s)", ErrUnknownScheme, u.Scheme, strings.Join(r.Schemes(), ", "))
	}
	return o.Open(ctx, u)
}

// parseURL parses rawURL, taking a bare word as a scheme.
func parseURL(rawURL string) (*url.URL, error) {
	if rawURL != "" && !strings.ContainsAny(rawURL, ":/?#") {
		return &url.URL{Scheme: strings.ToLower(rawURL)}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("%w: %q has no scheme", ErrBadURL, rawURL)
	}
	return u, nil
}

// Open opens a client on a built-in backend ("brook://...", "mem://"); it
// is Registry.Open on a zero Registry. Programs that also use other
// backends register them in a Registry of their own.
func Open(ctx context.Context, rawURL string) (*Client, error) {
	var r Registry
	return r.Open(ctx, rawURL)
}
