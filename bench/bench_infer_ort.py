"""Float inference benchmark, onnxruntime's side (bench/bench_infer.sh):
times onnxruntime (PyPI) on the ONNX file czoo_bench_infer exported, on
the same input, and checks its logits against czoo's (1e-4 relative: max
|ort - czoo| / max |czoo|), so both sides are known to do the same work.
Session: intra_op_num_threads=THREADS, inter_op_num_threads=1, sequential
execution, ORT_ENABLE_ALL graph optimizations, CPU provider.
Usage: bench_infer_ort.py ONNX BATCH THREADS RUNS WARMUP PREFIX
(PREFIX.in: NCHW float32 input, PREFIX.out: czoo's float32 logits).
Prints images_per_s (median of RUNS), median_ms and rel_err; exits 1 when
the outputs disagree."""
import sys
import time

import numpy as np
import onnxruntime as ort

TOL = 1e-4


def main():
    path, batch, threads, runs, warmup, prefix = sys.argv[1:7]
    batch, threads, runs, warmup = int(batch), int(threads), int(runs), int(warmup)
    x = np.fromfile(prefix + ".in", dtype=np.float32).reshape(batch, 3, 128, 128)
    ref = np.fromfile(prefix + ".out", dtype=np.float32).reshape(batch, -1)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    times = []
    y = None
    for s in range(warmup + runs):
        t0 = time.perf_counter()
        y = sess.run(None, {name: x})[0]
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    err = float(np.max(np.abs(y - ref)) / max(float(np.max(np.abs(ref))), 1e-30))
    print(f"images_per_s {batch / med:.1f}")
    print(f"median_ms {1e3 * med:.3f}")
    print(f"rel_err {err:.3g}")
    print(f"onnxruntime {ort.__version__}")
    if not err <= TOL:
        print(f"bench_infer_ort.py: batch {batch}: onnxruntime and czoo logits differ by "
              f"{err:.3g} relative, expected <= {TOL}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
