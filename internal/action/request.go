package action

import "context"

// request runs request mode and reports it.
func (rt *runtime) request(ctx context.Context) error {
	return rt.inputError("mode", "request is not wired yet")
}
