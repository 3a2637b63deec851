package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresMasterIsRDSLike(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx, "platform_admin")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	conn, err := pgx.Connect(ctx, pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var super, createrole, createdb bool
	err = conn.QueryRow(ctx, `SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createrole, &createdb)
	if err != nil {
		t.Fatal(err)
	}
	if super || !createrole || !createdb {
		t.Fatalf("master: super=%v createrole=%v createdb=%v, want false true true", super, createrole, createdb)
	}
}

func TestMotoAnswers(t *testing.T) {
	m, err := StartMoto(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
}
