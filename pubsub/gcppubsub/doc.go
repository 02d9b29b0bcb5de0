// Package gcppubsub is the Google Cloud Pub/Sub backend of package pubsub,
// over cloud.google.com/go/pubsub/v2: the seed's second broker. Code written
// against pubsub.Client runs on it unchanged, within what Pub/Sub can do.
//
//	reg := &pubsub.Registry{}
//	reg.Register("gcppubsub", gcppubsub.Opener{})
//	c, err := reg.Open(ctx, "gcppubsub://my-project")
//
// Credentials come from the environment as for any Google client; with
// PUBSUB_EMULATOR_HOST=host:port the client talks to the Pub/Sub emulator
// without credentials.
//
// The mapping:
//   - A Brook topic is the Pub/Sub topic of the same name, with one
//     partition (0).
//   - A group is a subscription with the ID SubscriptionID(group, topic),
//     "b~GROUP~TOPIC" (hashed past 255 characters), created with message
//     ordering by Subscribe when missing, and deleted by DeleteGroup. Members
//     of a group share the subscription, so each message goes to one of them.
//   - A key is the ordering key (base64 for a key that is not UTF-8, marked
//     by an attribute): messages of one key are delivered in order and their
//     handlers run one at a time; other messages are handled concurrently.
//   - Headers are attributes; the Timestamp travels as the attribute
//     brook.gcp.ts, in milliseconds. Attributes this package adds start with
//     brook.gcp. and are not shown as headers.
//   - A handler's nil acknowledges the message (or, with ManualCommit,
//     Commit does, for it and every earlier message of its topic); an
//     error negatively acknowledges it, so it is redelivered, and stops Run.
//
// Capabilities are all false, and what Pub/Sub cannot do returns an error
// wrapping errors.ErrUnsupported:
//   - ExplicitPartitions: topics have one partition; more is unsupported,
//     and a Partition other than 0 or the placement constants is a
//     *brook.PartitionError.
//   - EndOffsets: there are no offsets; EndOffsets is unsupported, and
//     Message.Offset is -1 on Publish and on delivery.
//   - History: a new subscription (a new group) gets only what is published
//     after Subscribe created it, whatever StartOffset says.
//   - NoGroup: group "" is unsupported.
//   - BinaryHeaders: attributes are unique UTF-8 strings; a repeated header
//     key or a value that is not UTF-8 is unsupported.
//   - ExactTimestamps: timestamps are milliseconds.
//
// Pub/Sub does not know which processes are connected, so DeleteGroup sees
// brook.ErrGroupActive only for live subscriptions of this backend. Delivery
// is at-least-once, as on every backend: a message that was in flight on a
// stream when its subscriber closed is redelivered when its lease ends,
// within 10 s (leases are extended 10 s at a time, not the library's 60 s).
package gcppubsub
