package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// alterFlags are the flags of `topics alter`, as typed; only those given
// change the topic.
type alterFlags struct {
	retentionAge    string
	retentionBytes  string
	maxMessageBytes string
	sync            string
}

func newTopicsAlterCmd(a *app) *cobra.Command {
	var f alterFlags
	cmd := &cobra.Command{
		Use:   "alter TOPIC [--retention-age D] [--retention-bytes N] [--max-message-bytes N] [--sync POLICY]",
		Short: "Change a topic's retention, message size limit or durability",
		Long: "alter changes the settings given and leaves the others as they are; 0 (or\n" +
			"default for --sync) returns a setting to its default. The change is written\n" +
			"to the topic's metadata and applies at once; retention at the next retention run.\n" +
			"With --server it goes through a running brook serve, which must have been\n" +
			"started with --http-allow-writes.",
		Example: "  brook topics alter orders --retention-age 7d\n" +
			"  brook topics alter audit --sync interval --max-message-bytes 4MiB",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			u, changed, err := f.update(cmd)
			if err != nil {
				return err
			}
			if len(changed) == 0 {
				return usagef("say what to change: --retention-age, --retention-bytes, --max-message-bytes or --sync")
			}
			format, name, what := "Altered topic %q: %s.", args[0], strings.Join(changed, ", ")
			if a.server != "" {
				r, err := newRemote(a.server, a.serverToken)
				if err != nil {
					return err
				}
				st, err := r.alterTopic(a.ctx, name, u)
				if err != nil {
					return err
				}
				return a.done(topicInfoOf(st), format, name, what)
			}
			return a.withBroker(false, func(b *brook.Broker) error {
				if _, err := b.AlterTopic(args[0], u); err != nil {
					return err
				}
				return a.topicDone(b, name, format, name, what)
			})
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.retentionAge, "retention-age", "", "drop whole segments older than this: 90m, 12h, 7d; 0: keep forever")
	fl.StringVar(&f.retentionBytes, "retention-bytes", "", "keep about this many bytes per partition: 512MiB, 1GB; 0: no limit")
	fl.StringVar(&f.maxMessageBytes, "max-message-bytes", "", "largest message, key + value + headers; 0: the broker's (1MiB)")
	fl.StringVar(&f.sync, "sync", "", "durability: always, interval, never, or default (the broker's)")
	return cmd
}

// update turns the flags given into a TopicUpdate, and names them.
func (f *alterFlags) update(cmd *cobra.Command) (brook.TopicUpdate, []string, error) {
	var u brook.TopicUpdate
	var changed []string
	fl := cmd.Flags()
	if fl.Changed("retention-age") {
		d, err := parseAge(f.retentionAge)
		if err != nil {
			return u, nil, usagef("--retention-age: %v", err)
		}
		u.RetentionAge, changed = &d, append(changed, "retention age "+humanDuration(d))
	}
	if fl.Changed("retention-bytes") {
		n, err := parseSize(f.retentionBytes)
		if err != nil {
			return u, nil, usagef("--retention-bytes: %v", err)
		}
		u.RetentionBytes, changed = &n, append(changed, "retention bytes "+humanLimit(n))
	}
	if fl.Changed("max-message-bytes") {
		n, err := parseSize(f.maxMessageBytes)
		if err != nil || n > 1<<30 {
			return u, nil, usagef("--max-message-bytes: %q is not a size up to 1GiB", f.maxMessageBytes)
		}
		mb := int(n)
		u.MaxMessageBytes, changed = &mb, append(changed, "max message bytes "+orDefault(n))
	}
	if fl.Changed("sync") {
		s := f.sync
		if s == "default" {
			s = ""
		}
		p, err := parseSync(s)
		if err != nil {
			return u, nil, usagef("--sync: %v (or default)", err)
		}
		u.Sync, changed = &p, append(changed, "sync "+p.String())
	}
	return u, changed, nil
}

// orDefault formats a byte limit whose zero means the broker's default.
func orDefault(n int64) string {
	if n == 0 {
		return "default"
	}
	return humanLimit(n)
}
