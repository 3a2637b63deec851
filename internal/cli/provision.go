package cli

import "context"

func runProvision(ctx context.Context, args []string, env Env) error {
	return usageErrorf("provision mode is not built yet")
}
