package storage_test

import (
	"context"
	"fmt"
	"os"

	"github.com/brookmq/brook/storage"
)

func Example() {
	dir, _ := os.MkdirTemp("", "brook-example")
	defer os.RemoveAll(dir)

	l, err := storage.Open(dir, nil) // SyncAlways: durable when Append returns
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	recs := []storage.Record{
		{Key: []byte("AAPL"), Value: []byte("191.2")},
		{Key: []byte("MSFT"), Value: []byte("410.5")},
	}
	first, err := l.Append(context.Background(), recs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first offset:", first)

	got, err := l.Read(0, 10, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range got {
		fmt.Printf("%d %s=%s\n", r.Offset, r.Key, r.Value)
	}
	recs, err = l.Read(l.NextOffset(), 10, 0) // at the end: nothing, no error
	fmt.Println(len(recs), err)
	// Output:
	// first offset: 0
	// 0 AAPL=191.2
	// 1 MSFT=410.5
	// 0 <nil>
}

// A tail reader waits on Notify and reads what was acknowledged.
func ExampleLog_Notify() {
	dir, _ := os.MkdirTemp("", "brook-example")
	defer os.RemoveAll(dir)
	l, _ := storage.Open(dir, &storage.Options{Sync: storage.SyncNever})
	defer l.Close()

	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pos := int64(0); pos < 3; {
			ch := l.Notify()
			if l.NextOffset() > pos {
				recs, _ := l.Read(pos, 0, 0)
				for _, r := range recs {
					fmt.Println(r.Offset, string(r.Value))
				}
				pos += int64(len(recs))
				continue
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
	}()
	for _, v := range []string{"a", "b", "c"} {
		l.Append(ctx, []storage.Record{{Value: []byte(v)}})
	}
	<-done
	// Output:
	// 0 a
	// 1 b
	// 2 c
}
