package cli

import "context"

// runRequest is the request mode's command line (owned by the request work).
func runRequest(ctx context.Context, args []string, env Env) error {
	return usageErrorf("request mode is not built yet")
}
