package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// newGroupsDeleteCmd builds `brook groups delete`: on the directory, or
// with --server through a brook serve started with --http-allow-writes.
func newGroupsDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete GROUP",
		Short: "Delete a consumer group with no members: its committed offsets",
		Long: "delete removes a consumer group's committed offsets; a consumer of the\n" +
			"group that joins later starts afresh. A group with members is refused:\n" +
			"close its consumers first. With --server it goes through a running\n" +
			"brook serve, which must have been started with --http-allow-writes.",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(_ *cobra.Command, args []string) error {
			id := args[0]
			if a.server != "" {
				r, err := newRemote(a.server, a.serverToken)
				if err != nil {
					return err
				}
				if err := r.deleteGroup(a.ctx, id); err != nil {
					return err
				}
			} else if err := a.withBroker(false, func(b *brook.Broker) error { return b.DeleteGroup(id) }); err != nil {
				return err
			}
			return a.done(map[string]string{"deleted": id}, "Deleted group %q.", id)
		}),
	}
}

// deleteGroup deletes a group through the console API, confirming it by
// repeating its ID as the API asks.
func (r *remote) deleteGroup(ctx context.Context, id string) error {
	path := "/api/groups/" + url.PathEscape(id) + "?confirm=" + url.QueryEscape(id)
	var out map[string]string
	err := r.do(ctx, http.MethodDelete, path, map[int]error{
		http.StatusNotFound:   fmt.Errorf("%w: %q", brook.ErrUnknownGroup, id),
		http.StatusConflict:   fmt.Errorf("%w: %q", brook.ErrGroupActive, id),
		http.StatusBadRequest: fmt.Errorf("%w: %q", brook.ErrInvalidGroupID, id),
		http.StatusForbidden:  r.readOnly(),
	}, &out)
	return err
}
