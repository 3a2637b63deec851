package provision

import (
	"context"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// The dry run: the same plan as the real run, read read-only and reported
// row by row, never executed.

// preview is the dry run: it reads the instance read-only, without the
// lock, plans, and reports every step. An unreachable instance gives the
// offline preview with a warning.
func (r *run) preview(ctx context.Context, entries []*entry, in planInput) []Step {
	started := r.opts.Now()
	st, err := r.readPreview(ctx, entries)
	switch {
	case err != nil && isUnreachable(err) && ctx.Err() == nil:
		r.record(nil, "connect", audit.Warning, started, "%v; this preview is offline: it cannot see what exists, so it lists every step as a change", err)
	case err != nil:
		r.record(nil, "connect", audit.Error, started, "%v", r.interrupted(ctx, "reading the instance", err))
		return nil
	}
	in.state = st
	// The plan's Pre is not sent: the grant steps it would open say so.
	steps := plan(in).Steps
	for _, s := range steps {
		status, msg := previewRow(s)
		r.recordStep(s, s.Tenant, status, msg, "", 0)
	}
	return steps
}

func (r *run) readPreview(ctx context.Context, entries []*entry) (*instance, error) {
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	conn, err := r.connect(ctx, r.master.DBName)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	// The dry run takes no lock, but what would block the real run is an
	// error here too.
	if _, err := r.lockHolder(ctx, conn); err != nil {
		return nil, err
	}
	return r.readState(ctx, conn, entries)
}
