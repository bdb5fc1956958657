// Package sweep runs parameter sweeps: a sweep spec (File) names a base
// spec, axes over any of its fields by YAML path, how the axes combine,
// repeats and metrics. Parse turns it into points, each the base spec's
// YAML with the point's values set and parsed by spec.Parse, so every
// point is validated exactly as `ratesim run` validates a spec.
//
// Run packs points whose programs can share one backend.Program (same
// trials, dims, activation, steps, precision and seed) as its instances,
// in chunks of consecutive points sized by memory (MakePlan), and reduces
// each point's recordings to its metrics while the program runs, never
// holding a whole recording. A point's noise instance (spec field
// noise_instance, see group) makes its noise the same alone and in any
// chunk, and the metrics' reduction order is fixed by the point alone, so
// a point's values and metrics have the same bits whether it runs alone,
// in a sweep, or in a chunk of any size. A point that goes non-finite is
// reported in its row; the rest of its chunk runs again without it.
//
// Write writes the table — one row per point: index, axis values, seed,
// repeat, noise instance, metrics, status — as table.parquet (and
// table.csv), and meta.json, each file atomically. Wall times are kept out
// of the table (meta.json lists each chunk's wall_s), so a table's bytes
// depend on its points' results alone.
//
// Execute runs a sweep into a directory crash-safe: each finished chunk is
// committed to DIR/journal (a chunk-NNN.json of its rows' cells, written to
// a temporary file, fsynced and renamed), and a run into a directory with a
// journal computes only the points not committed, refusing a directory of
// another sweep (Hash). A Shard is a contiguous range of points; Merge
// joins the shards' journals into the table an unsharded run writes, byte
// for byte, because both tables are written from the same cells. Status
// reads a directory: points and chunks done, missing and failed, and which
// shards are done, running (a live flock on DIR/lock), failed or stopped.
// WriteSlurm writes a job array of one task per shard and a merge job.
// DrawPicture draws DIR/sweep.png: a metric against one axis (lines) or two
// (a heat map with a colour bar).
//
// Plastic points pack η per instance (plastic.go); a record: section
// keeps per-point arrays, one archive per chunk (arrays.go); `ratesim
// sweep bench` measures the machinery against its raw program (bench.go).
package sweep
