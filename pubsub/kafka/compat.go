package kafka

import "errors"

// errBadURL stands for pubsub.ErrBadURL until package pubsub lands.
var errBadURL = errors.New("pubsub: bad URL")
