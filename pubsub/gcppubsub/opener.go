package gcppubsub

import (
	"context"
	"fmt"
	"net/url"

	"cloud.google.com/go/pubsub/v2"
	brookpubsub "github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"google.golang.org/api/option"
)

// Opener opens gcppubsub://PROJECT URLs. Register it in a pubsub.Registry:
//
//	reg.Register("gcppubsub", gcppubsub.Opener{})
//
// Credentials come from the environment, as for every Google client
// (GOOGLE_APPLICATION_CREDENTIALS, or the metadata server); with
// PUBSUB_EMULATOR_HOST=host:port set, the client talks to that emulator
// without credentials. The URL has no path and no query keys: anything
// but the project is an error wrapping brookpubsub.ErrBadURL.
type Opener struct {
	// Opts are passed to pubsub.NewClient: credentials, endpoint, a gRPC
	// connection (option.WithGRPCConn). Default: none.
	Opts []option.ClientOption
}

// Open makes a Pub/Sub client for u's project and returns a backend that
// owns it.
func (o Opener) Open(ctx context.Context, u *url.URL) (driver.Backend, error) {
	project, err := projectOf(u)
	if err != nil {
		return nil, err
	}
	c, err := pubsub.NewClient(ctx, project, o.Opts...)
	if err != nil {
		return nil, fmt.Errorf("gcppubsub: client for project %q: %w", project, err)
	}
	return newBackend(c, true), nil
}

func projectOf(u *url.URL) (string, error) {
	switch {
	case u.Host == "":
		return "", fmt.Errorf("%w: %s: want gcppubsub://PROJECT", brookpubsub.ErrBadURL, u.Redacted())
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%w: %s: only the project is allowed", brookpubsub.ErrBadURL, u.Redacted())
	}
	return u.Host, nil
}
