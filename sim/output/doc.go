// Package output carries out a spec's recording plan and writes a run's
// results: it keeps the recorded steps and units of each backend chunk
// (Recording), in memory or streamed to unlinked spill files when they
// exceed the memory limit, records a plastic run's weight snapshots and
// final weights (Weights), and writes result.npz, meta.json and the
// pictures (Write). It also writes a network's masks as .npy files
// (WriteMasks) and draws the progress line (Progress). The pictures
// themselves are sub-package plot.
//
// # Results are all or nothing
//
// A run's output directory DIR (ratesim run --out, default
// ratesim-out/NAME) holds result.npz, meta.json and the pictures meta.json
// lists under "pictures", and nothing else. Readers open DIR/result.npz as
// ever. A run replaces DIR whole, so at every moment — whatever fails, and
// if the process is killed at any point — DIR holds either the previous
// run's complete output or this run's, never a mix and never part of one:
//
//  1. Begin creates DIR if missing (empty: no output), removes stale
//     staging of DIR left by killed runs, and creates the staging
//     directory W = parent(DIR)/.BASE.ratesim-staging-PID-RANDOM, which
//     the run keeps flock'ed until it ends. Spill files go into W.
//  2. Write writes result.npz, the pictures and meta.json into W/new, each
//     fsynced, then fsyncs W/new.
//  3. It publishes W/new as DIR with one rename: renameat2 RENAME_EXCHANGE
//     swaps the two (Linux; RENAME_SWAP on macOS). Without exchange, a
//     rename onto DIR works when DIR is empty; when it holds an output,
//     that goes first into W/old, and a crash between the two renames
//     leaves no DIR until the next run moves W/old back.
//  4. It fsyncs DIR's parent, which makes the publication durable (if that
//     fails the swap is undone and the run fails).
//  5. Close removes W — the previous output, or a failed run's files —
//     and releases the lock.
//
// W is stale when no process holds its lock: the kernel drops it when a
// run dies. Removal deletes only the names a run writes, and Begin refuses
// a DIR holding anything else (or holding the current directory), since
// publishing replaces it whole. A DIR that is a symbolic link is published
// at its target. The reasons for this design are in publish.go.
package output
