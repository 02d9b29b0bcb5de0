package brook

import (
	"fmt"
	"os"
	"sync"
)

// DefaultDir is the data directory of the process-wide broker when the
// BROOK_DATA_DIR environment variable is not set.
const DefaultDir = "brook-data"

// The process-wide broker of GetorSetBrokerInstance and SetBrokerInstance.
var singleton struct {
	mu sync.Mutex
	b  *Broker
}

// GetorSetBrokerInstance returns the process-wide broker. The first call
// (unless SetBrokerInstance came first) opens it with default Options in the
// directory named by BROOK_DATA_DIR, else ./brook-data; every later call, in
// any goroutine, returns that same *Broker. It never panics and never
// returns nil.
//
// If opening fails, the process-wide broker is a broker on which every call
// returns that error (wrapped; match it with errors.Is, for example
// ErrLocked), and it stays so: later calls return the same failed broker
// rather than trying again, so that every part of the program sees the
// same thing. SetBrokerInstance can replace it.
//
// After the process-wide broker is closed, it stays the process-wide
// broker: GetorSetBrokerInstance keeps returning it, and every call on it,
// and on the producers and consumers made from it, returns ErrClosed. No
// new broker is opened behind the program's back; SetBrokerInstance
// installs a new one explicitly. It is safe for concurrent use.
func GetorSetBrokerInstance() *Broker {
	singleton.mu.Lock()
	defer singleton.mu.Unlock()
	if singleton.b == nil {
		dir := os.Getenv("BROOK_DATA_DIR")
		if dir == "" {
			dir = DefaultDir
		}
		b, err := Open(dir, nil)
		if err != nil {
			b = &Broker{dir: dir, err: err} // Open's errors name the directory
		}
		singleton.b = b
	}
	return singleton.b
}

// SetBrokerInstance makes b, a broker opened with Open (and so with any
// Options and directory), the process-wide broker that
// GetorSetBrokerInstance, CreateProducer and CreateConsumer use. Call it
// before anything uses the process-wide broker. It returns
// ErrBrokerInstanceSet while another process-wide broker is open, so that
// two parts of a program cannot silently use different brokers; it is
// allowed when there is none yet, when the current one is closed, or when
// opening it failed. Setting the current broker again is a no-op. It
// returns ErrInvalidConfig for a nil b and the broker's error for a b that
// is closed or failed to open. It is safe for concurrent use.
func SetBrokerInstance(b *Broker) error {
	if b == nil {
		return fmt.Errorf("%w: nil broker", ErrInvalidConfig)
	}
	if err := b.check(); err != nil {
		return err
	}
	singleton.mu.Lock()
	defer singleton.mu.Unlock()
	if cur := singleton.b; cur != nil && cur != b && cur.check() == nil {
		return fmt.Errorf("%w: the process-wide broker is open on %s", ErrBrokerInstanceSet, cur.dir)
	}
	singleton.b = b
	return nil
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
