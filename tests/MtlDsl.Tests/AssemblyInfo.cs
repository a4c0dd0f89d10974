// The tests of this assembly run one at a time, for two reasons that come from TorchSharp, not from the tests:
// - Its global random generator (initial weights, dropout) is shared by the process: a test running in parallel
//   would draw from it between another test's seed and its use, and the bit-for-bit tests (repeatable fits, exact
//   resume) would fail.
// - TorchSharp 0.107 converts numbers to native Scalars that only its finalizer frees, and passes their handles to
//   native calls without keeping them alive; a garbage collection started by another thread during such a call
//   can free a Scalar in use (seen: "toFloat: Expected false to be true" inside Adam.step). MtlDsl's own training
//   path is immune (GarbageCollectionStressTests), but many tests use TorchSharp's optimizers directly.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
