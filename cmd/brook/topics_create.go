package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// createFlags are the flags of `topics create`, as typed.
type createFlags struct {
	partitions      int
	retentionAge    string
	retentionBytes  string
	maxMessageBytes string
	sync            string
	ifNotExists     bool
}

func newTopicsCreateCmd(a *app) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create TOPIC --partitions N",
		Short: "Create a topic (creating the data directory if needed)",
		Example: "  brook topics create orders --partitions 8\n" +
			"  brook topics create audit --partitions 1 --retention-age 7d --retention-bytes 1GiB --sync interval",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(_ *cobra.Command, args []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			return a.withBroker(true, func(b *brook.Broker) error {
				return a.createTopic(b, args[0], cfg, f.ifNotExists)
			})
		}),
	}
	fl := cmd.Flags()
	fl.IntVar(&f.partitions, "partitions", 0, "number of partitions, 1 to 10000 (required)")
	fl.StringVar(&f.retentionAge, "retention-age", "", "drop whole segments older than this: 90m, 12h, 7d (default: keep forever)")
	fl.StringVar(&f.retentionBytes, "retention-bytes", "", "keep about this many bytes per partition: 1073741824, 512MiB, 1GB (default: no limit)")
	fl.StringVar(&f.maxMessageBytes, "max-message-bytes", "", "largest message, key + value + headers (default: the broker's, 1MiB)")
	fl.StringVar(&f.sync, "sync", "", "durability: always (fsync before acknowledging), interval or never (default: always)")
	fl.BoolVar(&f.ifNotExists, "if-not-exists", false, "succeed without changes if the topic exists")
	_ = cmd.MarkFlagRequired("partitions")
	return cmd
}

// createTopic creates the topic and confirms it.
func (a *app) createTopic(b *brook.Broker, name string, cfg brook.TopicConfig, ifNotExists bool) error {
	_, err := b.CreateTopic(name, cfg)
	if ifNotExists && isExists(err) {
		return a.topicDone(b, name, "Topic %q exists already.", name)
	}
	if err != nil {
		return err
	}
	return a.topicDone(b, name, "Created topic %q with %s.", name, plural(cfg.Partitions, "partition"))
}

// config checks the flags and turns them into a topic configuration.
func (f *createFlags) config() (brook.TopicConfig, error) {
	cfg := brook.TopicConfig{Partitions: f.partitions}
	if f.partitions < 1 || f.partitions > brook.MaxPartitions {
		return cfg, usagef("--partitions must be 1 to %d, not %d", brook.MaxPartitions, f.partitions)
	}
	var err error
	if cfg.RetentionAge, err = parseAge(f.retentionAge); err != nil {
		return cfg, usagef("--retention-age: %v", err)
	}
	if cfg.RetentionBytes, err = parseSize(f.retentionBytes); err != nil {
		return cfg, usagef("--retention-bytes: %v", err)
	}
	mb, err := parseSize(f.maxMessageBytes)
	if err == nil && mb > brook.MaxMessageBytesLimit {
		err = fmt.Errorf("%d is above the %dMiB limit", mb, brook.MaxMessageBytesLimit>>20)
	}
	if err != nil {
		return cfg, usagef("--max-message-bytes: %v", err)
	}
	cfg.MaxMessageBytes = int(mb)
	if cfg.Sync, err = parseSync(f.sync); err != nil {
		return cfg, usagef("--sync: %v", err)
	}
	return cfg, nil
}

// maxAgeDays is the most days a time.Duration holds.
const maxAgeDays = int64(math.MaxInt64 / int64(24*time.Hour))

// parseAge parses a duration as Go writes it (90m, 1h30m) or a whole number
// of days (7d). Empty and 0 mean no limit.
func parseAge(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int64
		n, err = strconv.ParseInt(days, 10, 32)
		if err == nil && n > maxAgeDays {
			return 0, fmt.Errorf("%q is longer than the longest retention, %dd (about 292 years)", s, maxAgeDays)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 90m, 12h or 7d", s)
	}
	return d, nil
}

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// parseSize parses a byte count: a number with an optional unit (B, KB,
// MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024).
// Empty means zero (the default).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 1048576, 512KiB or 1GB", s)
	}
	return n * mult, nil
}

// parseSync parses a durability policy name. Empty means the default.
func parseSync(s string) (brook.SyncPolicy, error) {
	switch s {
	case "":
		return brook.SyncDefault, nil
	case "always":
		return brook.SyncAlways, nil
	case "interval":
		return brook.SyncInterval, nil
	case "never":
		return brook.SyncNever, nil
	}
	return 0, fmt.Errorf("%q is not one of always, interval, never", s)
}
