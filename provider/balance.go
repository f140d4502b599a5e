package provider

import (
	"context"
	"encoding/json"
	"fmt"
)

// Balance is the point balance of the account that owns an API key.
type Balance struct {
	Points *int64 // current_point_balance, or nil when Poe sends null or leaves it out
	Email  string // the account's e-mail address, when Poe sends it
}

// Balance fetches the point balance of the account that owns apiKey, from
// {origin of BaseURL}/usage/current_balance (the endpoint has no /v1 prefix). A 401 or
// 403 from it means Poe rejected the key. The whole call is bounded by 30 seconds.
func (c *Client) Balance(ctx context.Context, apiKey string) (Balance, error) {
	base, err := c.baseURL()
	if err != nil {
		return Balance{}, err
	}
	u := *base
	u.Path = "/usage/current_balance"
	u.RawPath = ""
	u.RawQuery = ""
	u.Fragment = ""

	const op = "balance request"
	body, err := c.getJSON(ctx, op, &u, apiKey)
	if err != nil {
		return Balance{}, err
	}

	var wire struct {
		Points *flexInt        `json:"current_point_balance"`
		Email  json.RawMessage `json:"email"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return Balance{}, &Error{Reason: ReasonMalformed, Status: 200, op: op,
			Err: fmt.Errorf("invalid current_point_balance: %w", err)}
	}

	balance := Balance{Email: jsonText(wire.Email)}
	if wire.Points != nil {
		points := int64(*wire.Points)
		balance.Points = &points
	}
	return balance, nil
}
