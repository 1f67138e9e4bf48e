package database_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
)

// BenchmarkUUID: a uuid.UUID argument as pgx encodes it, against database.UUID.
func BenchmarkUUID(b *testing.B) {
	m := pgtype.NewMap()
	id := uuid.Must(uuid.NewV7())
	for _, tc := range []struct {
		name string
		v    any
	}{{"uuid.UUID", id}, {"database.UUID", database.UUID(id)}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, tc.v, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// database.UUID encodes to the same 16 bytes as the uuid it wraps.
func TestUUIDEncodesTheSameBytes(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	buf, err := pgtype.NewMap().Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, database.UUID(id), nil)
	if err != nil || string(buf) != string(id[:]) {
		t.Fatalf("encoded %x (%v), want %x", buf, err, id[:])
	}
}
