// Package sweep is the room for parameter sweeps (not built yet; see
// ARCHITECTURE.md): a sweep over any spec field turns its points into
// batched instances of one backend.Program, shards them with the backend's
// partitioner across devices, processes or Slurm array tasks, and resumes
// an interrupted sweep from the shards already written.
package sweep
