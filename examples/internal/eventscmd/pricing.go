package eventscmd

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/brookmq/brook/event"
)

// quoteRequest is the data of a "pricing.quote.get" event, and the body of
// POST /quote.
type quoteRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// quote is the data of the reply.
type quote struct {
	SKU         string `json:"sku"`
	Qty         int    `json:"qty"`
	UnitCents   int64  `json:"unit_cents"`
	DiscountPct int64  `json:"discount_pct"`
	TotalCents  int64  `json:"total_cents"`
}

// catalogue is the pricing service's state: unit prices in cents.
type catalogue map[string]int64

func defaultCatalogue() catalogue {
	return catalogue{"B-17": 1250, "C-3": 499, "K-9": 12900}
}

// maxQty bounds one quote, so that a total cannot overflow.
const maxQty = 1_000_000

// quote prices a request: 5 % off from 10 units, 10 % off from 100.
func (c catalogue) quote(_ context.Context, in quoteRequest) (quote, error) {
	unit, ok := c[in.SKU]
	switch {
	case !ok:
		return quote{}, &event.ErrorInfo{Code: "unknown_sku",
			Message: fmt.Sprintf("no SKU %q (we have %s)", in.SKU, strings.Join(c.skus(), ", "))}
	case in.Qty <= 0 || in.Qty > maxQty:
		return quote{}, &event.ErrorInfo{Code: "bad_qty", Message: fmt.Sprintf("qty %d, want 1 to %d", in.Qty, maxQty)}
	}
	var pct int64
	switch {
	case in.Qty >= 100:
		pct = 10
	case in.Qty >= 10:
		pct = 5
	}
	gross := unit * int64(in.Qty)
	return quote{SKU: in.SKU, Qty: in.Qty, UnitCents: unit, DiscountPct: pct, TotalCents: gross - gross*pct/100}, nil
}

func (c catalogue) skus() []string {
	out := make([]string, 0, len(c))
	for s := range c {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// pricingRouter is the pricing service's nested router, the seed's shape:
//
//	"pricing.quote.get"  → router pricing → router quote → bind "get"
//	"pricing.quote.*"    → router quote's "*": any other quote operation is unsupported
//	"pricing.ping"       → router pricing's "ping"
//
// The root's name is only a label: it is not part of any event name.
func pricingRouter(c catalogue) *event.Router {
	quoteR := event.NewRouter("quote")
	quoteR.Bind("get", event.Typed(c.quote))
	quoteR.Bind("*", event.HandlerFunc(func(_ context.Context, e *event.Event) (*event.Event, error) {
		return nil, &event.ErrorInfo{Code: "unsupported", Message: e.Name + " is not a quote operation"}
	}))
	pricing := event.NewRouter("pricing")
	pricing.Include(quoteR)
	pricing.Bind("ping", event.Typed(func(context.Context, struct{}) (string, error) { return "pong", nil }))
	root := event.NewRouter("pricing-service")
	root.Include(pricing)
	return root
}
