package brook_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/brookmq/brook"
)

// Check a data directory, as `brook check` does: read-only, so it works
// while a program holds the directory.
func ExampleCheck() {
	dir, err := os.MkdirTemp("", "brook-check-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := brook.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateNewTopic("orders", 2); err != nil {
		log.Fatal(err)
	}
	p := b.CreateProducer("example")
	for i := range 3 {
		if err := p.Publish("orders", brook.CreateMessage("orders", fmt.Appendf(nil, "order %d", i), 0)); err != nil {
			log.Fatal(err)
		}
	}
	p.Close()

	rep, err := brook.Check(dir, nil) // b still holds the directory
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range rep.Logs {
		fmt.Println(filepath.ToSlash(l.Path), l.Status, l.Records, "records, offsets", l.FirstOffset, "to", l.NextOffset)
		for _, p := range l.Problems {
			fmt.Println("  ", p)
		}
	}
	fmt.Println("healthy:", rep.Healthy())
	// Output:
	// topics/orders/0 ok 3 records, offsets 0 to 3
	// topics/orders/1 ok 0 records, offsets 0 to 0
	// healthy: true
}

// Cut a damaged partition at its damage, after Check (or a reader's
// ErrPartitionFailed) reported it. The directory must not be open.
func ExampleRepairPartition() {
	dir, err := os.MkdirTemp("", "brook-repair-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := brook.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := b.CreateNewTopic("orders", 1); err != nil {
		log.Fatal(err)
	}
	_, err = brook.RepairPartition(dir, "orders", 0, nil)
	fmt.Println("while open:", errors.Is(err, brook.ErrLocked))
	if err := b.Close(); err != nil {
		log.Fatal(err)
	}

	res, err := brook.RepairPartition(dir, "orders", 0, nil)
	if err != nil {
		log.Fatal(err)
	}
	if res.Damage == "" {
		fmt.Println("no damage; nothing changed")
	} else {
		fmt.Printf("cut at %d, %d records dropped, kept in %v\n", res.CutAt, res.DroppedRecords, res.SavedTo)
	}
	// Output:
	// while open: true
	// no damage; nothing changed
}
