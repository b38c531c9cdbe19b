package github

import (
	"context"
	"errors"

	gh "github.com/google/go-github/v62/github"
)

// HookDelivery is one entry of the App's webhook delivery log.
type HookDelivery = gh.HookDelivery

// HookDeliveries returns one page of the App's webhook deliveries, newest
// first, and the cursor of the next page ("" after the last).
func (a *App) HookDeliveries(ctx context.Context, cursor string) ([]*HookDelivery, string, error) {
	list, resp, err := a.client.Apps.ListHookDeliveries(ctx, &gh.ListCursorOptions{PerPage: 100, Cursor: cursor})
	if err != nil {
		return nil, "", wrap(err, "list webhook deliveries")
	}
	return list, resp.Cursor, nil
}

// Redeliver asks GitHub to send a delivery again.
func (a *App) Redeliver(ctx context.Context, id int64) error {
	_, _, err := a.client.Apps.RedeliverHookDelivery(ctx, id)
	if err != nil {
		var accepted *gh.AcceptedError
		if errors.As(err, &accepted) {
			return nil
		}
		return wrap(err, "redeliver webhook delivery %d", id)
	}
	return nil
}
