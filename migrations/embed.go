// Package migrations embeds the SQL migrations: common/*.up.sql (outbox and
// inbox, applied to every service database first) and <service>/*.up.sql.
// database.Migrate applies them.
package migrations

import "embed"

// FS holds every migration file, as "<dir>/NNNN_name.up.sql".
//
//go:embed */*.up.sql
var FS embed.FS
