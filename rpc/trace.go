package rpc

import (
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/sourcegraph/jsonrpc2"
)

// secretFields are the members, in lower case, whose values a trace never
// shows, at any depth: keys, codes, pasted redirect addresses (they carry a
// code and a state), and the authorize URL (it carries the state). Names are
// matched in any case, as encoding/json matches them when decoding params.
var secretFields = map[string]bool{
	"apikey":      true,
	"code":        true,
	"callbackurl": true,
	"url":         true,
	"state":       true,
}

// TraceOptions returns connection options that log every request, response
// and notification that passes through jsonrpc2 at debug level, with the
// values of secretFields replaced. chat/stream notifications are written
// around jsonrpc2 and are not traced.
func TraceOptions(logger *slog.Logger) []jsonrpc2.ConnOpt {
	trace := func(direction string) func(*jsonrpc2.Request, *jsonrpc2.Response) {
		return func(req *jsonrpc2.Request, resp *jsonrpc2.Response) {
			switch {
			case resp != nil:
				attrs := []any{"direction", direction, "id", resp.ID.String()}
				if req != nil {
					attrs = append(attrs, "method", req.Method)
				}
				if resp.Result != nil {
					attrs = append(attrs, "result", redactJSON(*resp.Result))
				}
				if resp.Error != nil {
					attrs = append(attrs, "error", resp.Error.Message, "code", resp.Error.Code)
				}
				logger.Debug("trace response", attrs...)
			case req != nil:
				attrs := []any{"direction", direction, "method", req.Method}
				if !req.Notif {
					attrs = append(attrs, "id", req.ID.String())
				}
				if req.Params != nil {
					attrs = append(attrs, "params", redactJSON(*req.Params))
				}
				logger.Debug("trace message", attrs...)
			}
		}
	}
	return []jsonrpc2.ConnOpt{jsonrpc2.OnRecv(trace("received")), jsonrpc2.OnSend(trace("sent"))}
}

// redactJSON returns raw as text with the values of secretFields replaced.
func redactJSON(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "(not JSON)"
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return "(not JSON)"
	}
	return string(out)
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			if secretFields[strings.ToLower(k)] {
				v[k] = "[redacted]"
				continue
			}
			v[k] = redactValue(item)
		}
	case []any:
		for i, item := range v {
			v[i] = redactValue(item)
		}
	}
	return v
}
