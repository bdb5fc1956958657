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
// repeat, noise instance, metrics, status, wall time — as table.parquet
// (and table.csv), and meta.json, each file atomically.
//
// Not yet: plastic specs, per-point arrays (record:), shards, resume, Slurm
// (the point order, the groups' ranks and the chunk boundaries depend on
// the point list alone, so shards can be ranges of points).
package sweep
