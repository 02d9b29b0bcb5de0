package brook

import (
	"os"
	"sync"
)

// DefaultDir is the data directory of the process-wide broker when the
// BROOK_DATA_DIR environment variable is not set.
const DefaultDir = "brook-data"

// The process-wide broker behind GetorSetBrokerInstance.
var singleton struct {
	mu sync.Mutex
	b  *Broker
}

// GetorSetBrokerInstance returns the process-wide broker, opening it on first
// use in the directory named by BROOK_DATA_DIR, else ./brook-data. It never
// panics and never returns nil: if opening fails, it returns a broker on
// which every call returns that error (wrapped; match it with errors.Is, for
// example ErrLocked), and the next call to GetorSetBrokerInstance tries to
// open it again. After the broker is closed, the next call opens a new one.
// It is safe for concurrent use.
func GetorSetBrokerInstance() *Broker {
	singleton.mu.Lock()
	defer singleton.mu.Unlock()
	if b := singleton.b; b != nil && b.err == nil && b.check() == nil {
		return b
	}
	dir := os.Getenv("BROOK_DATA_DIR")
	if dir == "" {
		dir = DefaultDir
	}
	b, err := Open(dir, nil)
	if err != nil {
		b = &Broker{dir: dir, err: err} // Open's errors name the directory
	}
	singleton.b = b
	return b
}

// CreateConsumer returns a consumer of the process-wide broker (see
// GetorSetBrokerInstance) named name, in consumer group groupID.
func CreateConsumer(name, groupID string) *Consumer {
	return GetorSetBrokerInstance().CreateConsumer(name, groupID)
}

// CreateProducer returns a producer of the process-wide broker (see
// GetorSetBrokerInstance).
func CreateProducer(name string) *Producer {
	return GetorSetBrokerInstance().CreateProducer(name)
}
